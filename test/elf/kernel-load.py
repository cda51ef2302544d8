#!/usr/bin/env python3
"""Loads tsbpf's linked instruction streams into the running kernel with bpf(2).

Test harness only (not part of the product): reads a JSON description of maps
and programs on stdin, creates the maps, substitutes map fds into the lddw
instructions the way a loader does (src=1: imm = fd; src=2: imm = fd, second
imm = offset into the value), calls BPF_PROG_LOAD and prints one JSON result
per program. Exit status 77 means "cannot use bpf(2) here" (skip).
"""
import ctypes, errno, json, os, platform, struct, sys

NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
libc = ctypes.CDLL(None, use_errno=True)  # the process already has libc loaded
libc.syscall.restype = ctypes.c_long

MAP_CREATE, MAP_UPDATE_ELEM, PROG_LOAD, BTF_LOAD, MAP_FREEZE = 0, 2, 5, 18, 22


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = libc.syscall(NR_BPF, cmd, buf, len(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


# Hash-like maps are preallocated per entry (and per CPU); their size does not
# affect verification, so cap it to keep the test fast.
HASHLIKE = {1, 5, 9, 10, 11, 13}
RINGBUFS = {27, 31}


def map_create(m, inner_fd=0, btf_fd=0):
    attr = bytearray(128)
    entries = min(m["maxEntries"], 1024) if m["typeId"] in HASHLIKE else m["maxEntries"]
    if m["typeId"] in RINGBUFS:
        # libbpf's adjust_ringbuf_sz: a power-of-two multiple of the page size.
        size = os.sysconf("SC_PAGE_SIZE")
        while size < entries:
            size *= 2
        entries = size
    struct.pack_into("<7I", attr, 0, m["typeId"], m["keySize"], m["valueSize"], entries, m["flags"], inner_fd, 0)
    name = "".join(c for c in m["name"] if c.isalnum() or c in "._")[:15].encode()
    attr[28:28 + len(name)] = name
    # Maps whose values hold spin locks, timers or kptrs, and local storage maps, need their BTF types.
    if btf_fd and m.get("keyTypeId") is not None and m.get("valueTypeId") is not None:
        struct.pack_into("<III", attr, 48, btf_fd, m["keyTypeId"], m["valueTypeId"])
        try:
            return bpf(MAP_CREATE, attr)
        except OSError:
            struct.pack_into("<III", attr, 48, 0, 0, 0)
    return bpf(MAP_CREATE, attr)


def map_init(fd, m):
    if m.get("initial") is None:
        return
    key = ctypes.create_string_buffer(4)
    value = ctypes.create_string_buffer(bytes.fromhex(m["initial"]), m["valueSize"])
    attr = bytearray(128)
    struct.pack_into("<IIQQQ", attr, 0, fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0)
    bpf(MAP_UPDATE_ELEM, attr)
    if m.get("frozen"):
        attr = bytearray(128)
        struct.pack_into("<I", attr, 0, fd)
        bpf(MAP_FREEZE, attr)


def btf_load(hexbytes):
    data = ctypes.create_string_buffer(bytes.fromhex(hexbytes), len(hexbytes) // 2)
    attr = bytearray(128)
    struct.pack_into("<QQIII", attr, 0, ctypes.addressof(data), 0, len(hexbytes) // 2, 0, 0)
    try:
        return bpf(BTF_LOAD, attr)
    except OSError as e:
        # Again with a log (every type is printed, so make room), for the reason.
        log = ctypes.create_string_buffer(1 << 24)
        struct.pack_into("<QQIII", attr, 0, ctypes.addressof(data), ctypes.addressof(log), len(hexbytes) // 2, len(log), 1)
        try:
            os.close(bpf(BTF_LOAD, attr))
        except OSError:
            pass
        raise OSError(e.errno, f"BTF load: {e.strerror}: {log.value.decode(errors='replace').strip()[-300:]}")


def prog_load(p, fds, btf_fd):
    insns = bytearray(bytes.fromhex(p["insns"]))
    for ref in p["mapRefs"]:
        struct.pack_into("<i", insns, ref["insn"] * 8 + 4, fds[ref["map"]])
    ins = ctypes.create_string_buffer(bytes(insns), len(insns))
    lic = ctypes.create_string_buffer(p["license"].encode() + b"\0")
    log = ctypes.create_string_buffer(1 << 20)
    attr = bytearray(128)
    # No log on the first try: a long verifier log can fill the buffer (ENOSPC) on success.
    struct.pack_into("<IIQQIIQII", attr, 0, p["typeId"], len(insns) // 8, ctypes.addressof(ins), ctypes.addressof(lic),
                     0, 0, 0, 0, p.get("progFlags", 0))
    name = "".join(c for c in p["name"] if c.isalnum() or c == "_")[:15].encode()
    attr[48:48 + len(name)] = name
    if p.get("expectedAttachTypeId") is not None:
        struct.pack_into("<I", attr, 68, p["expectedAttachTypeId"])
    if p.get("attachBtfId") is not None:
        # attach_btf_id (vmlinux BTF, so attach_btf_obj_fd stays 0)
        struct.pack_into("<I", attr, 108, p["attachBtfId"])
    keep = []
    if btf_fd and p.get("funcInfo"):
        fi = b"".join(struct.pack("<II", f["insn"], f["typeId"]) for f in p["funcInfo"])
        li = b"".join(struct.pack("<IIII", *l) for l in p.get("lineInfo", []))
        fib = ctypes.create_string_buffer(fi, len(fi))
        lib = ctypes.create_string_buffer(li, max(len(li), 1))
        keep += [fib, lib]
        struct.pack_into("<IIQI", attr, 72, btf_fd, 8, ctypes.addressof(fib), len(p["funcInfo"]))
        if li:
            struct.pack_into("<IQI", attr, 92, 16, ctypes.addressof(lib), len(p["lineInfo"]))
    try:
        fd = bpf(PROG_LOAD, attr)
        os.close(fd)
        return {"name": p["name"], "ok": True}
    except OSError as e:
        err = e.strerror
    struct.pack_into("<IIQ", attr, 24, 1, len(log), ctypes.addressof(log))
    try:
        os.close(bpf(PROG_LOAD, attr))
    except OSError:
        pass
    text = log.value.decode(errors="replace").strip().splitlines()
    return {"name": p["name"], "ok": False, "error": err, "log": text[-6:]}


def main():
    if NR_BPF is None or os.geteuid() != 0:
        print("needs root on x86_64 or aarch64", file=sys.stderr)
        return 77
    spec = json.load(sys.stdin)
    # Like libbpf, BTF the kernel refuses is dropped (programs then load without func/line info).
    btf_fd, btf_error = 0, None
    if spec.get("btf"):
        try:
            btf_fd = btf_load(spec["btf"])
        except OSError as e:
            btf_error = str(e)
    fds = []
    try:
        for m in spec["maps"]:
            inner = map_create(m["innerMap"]) if m.get("innerMap") else 0
            fd = map_create(m, inner, btf_fd)
            map_init(fd, m)
            fds.append(fd)
    except OSError as e:
        if e.errno in (errno.EPERM, errno.ENOSYS):
            print(f"bpf(2) not permitted: {e.strerror}", file=sys.stderr)
            return 77
        print(json.dumps([{"name": "(maps)", "ok": False, "error": f"map create: {e.strerror}", "log": []}]))
        return 0
    results = [prog_load(p, fds, btf_fd) for p in spec["programs"]]
    for r in results:
        if btf_error:
            r["btfError"] = btf_error[-200:]
    print(json.dumps(results))
    return 0


sys.exit(main())
