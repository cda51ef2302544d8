#!/usr/bin/env python3
# Test-only kernel oracle: loads raw eBPF instruction streams into the running
# kernel with the bpf(2) syscall (ctypes, nothing compiled) and prints the
# kernel's verdict. Used by the verifier's differential tests and by
# scripts/verifier-report.mjs. Needs root (or CAP_BPF); without it every
# answer is {"status": "unavailable"} so callers can skip with a message.
#
# Input: one JSON object per line on stdin:
#   {"insns": "<hex of the 8-byte slots>", "progType": 6, "license": "GPL",
#    "maps": [{"type": 2, "keySize": 4, "valueSize": 8, "maxEntries": 1}],
#    "logLevel": 1, "expectedAttachType": 0}
# A map may carry "valueBtf": true (created with BTF for its key and value) and
# "spinLockOff": N (the value is a struct with a struct bpf_spin_lock at byte N).
# lddw with src=1 (BPF_PSEUDO_MAP_FD) or src=2 (MAP_VALUE) carry a map INDEX
# in imm; it is replaced by the fd of the map created for that index.
# Output: one JSON object per line:
#   {"status": "accept"|"reject"|"error", "errno": N, "log": "..."}
import ctypes, json, os, sys

NR_BPF = 321  # x86_64
BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_BTF_LOAD = 0, 5, 18
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


class MapAttr(ctypes.Structure):
    _fields_ = [("map_type", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("map_flags", ctypes.c_uint32), ("inner_map_fd", ctypes.c_uint32),
                ("numa_node", ctypes.c_uint32), ("map_name", ctypes.c_char * 16),
                ("map_ifindex", ctypes.c_uint32), ("btf_fd", ctypes.c_uint32),
                ("btf_key_type_id", ctypes.c_uint32), ("btf_value_type_id", ctypes.c_uint32),
                ("pad", ctypes.c_uint8 * 68)]


class BtfAttr(ctypes.Structure):
    _fields_ = [("btf", ctypes.c_uint64), ("btf_log_buf", ctypes.c_uint64),
                ("btf_size", ctypes.c_uint32), ("btf_log_size", ctypes.c_uint32),
                ("btf_log_level", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 20)]


def map_btf(key_size, value_size, lock_off):
    """Raw BTF for a map (key type, value type, the blob): the key an int, or char[key_size];
    the value a struct of value_size bytes holding a struct bpf_spin_lock at lock_off, or an
    int at 0 when lock_off is None."""
    import struct
    strs = b"\0int\0char\0bpf_spin_lock\0val\0value\0x\0"
    name = lambda s: strs.index(s.encode() + b"\0")
    info = lambda kind, vlen=0: (kind << 24) | vlen
    t_keyarr, t_value, t_int, t_char, t_lock = 1, 2, 3, 4, 5
    types = struct.pack("<IIIIII", 0, info(3), 0, t_char, t_int, key_size)  # 1: char[key_size]
    types += struct.pack("<III", name("value"), info(4, 1), value_size)  # 2: struct value
    types += struct.pack("<III", name("x"), t_int if lock_off is None else t_lock, 0 if lock_off is None else lock_off * 8)
    types += struct.pack("<IIII", name("int"), info(1), 4, (1 << 24) | 32)  # 3: int
    types += struct.pack("<IIII", name("char"), info(1), 1, 8)  # 4: char
    types += struct.pack("<III", name("bpf_spin_lock"), info(4, 1), 4)  # 5: struct bpf_spin_lock
    types += struct.pack("<III", name("val"), t_int, 0)
    hdr = struct.pack("<HBBIIIII", 0xeB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return (t_int if key_size == 4 else t_keyarr), t_value, hdr + types + strs


def load_btf(raw):
    buf = ctypes.create_string_buffer(raw, len(raw))
    log = ctypes.create_string_buffer(1 << 16)
    a = BtfAttr(btf=ctypes.addressof(buf), btf_size=len(raw), btf_log_buf=ctypes.addressof(log),
                btf_log_size=len(log), btf_log_level=1)
    fd, err = bpf(BPF_BTF_LOAD, a)
    if fd < 0:
        raise OSError(err, "btf load: " + os.strerror(err) + " " + log.value.decode(errors="replace"))
    return fd


class ProgAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", ctypes.c_uint32), ("expected_attach_type", ctypes.c_uint32),
                ("pad", ctypes.c_uint8 * 128)]


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def create_map(m):
    a = MapAttr(map_type=m["type"], key_size=m["keySize"], value_size=m["valueSize"],
                max_entries=m["maxEntries"], map_flags=m.get("flags", 0))
    btf_fd = -1
    if m.get("valueBtf") or m.get("spinLockOff") is not None:
        key_id, value_id, raw = map_btf(m["keySize"], m["valueSize"], m.get("spinLockOff"))
        btf_fd = load_btf(raw)
        a.btf_fd, a.btf_key_type_id, a.btf_value_type_id = btf_fd, key_id, value_id
    try:
        fd, err = bpf(BPF_MAP_CREATE, a)
    finally:
        if btf_fd >= 0:
            os.close(btf_fd)
    if fd < 0:
        raise OSError(err, "map create: " + os.strerror(err))
    return fd


def load(req):
    code = bytearray(bytes.fromhex(req["insns"]))
    fds = []
    try:
        for m in req.get("maps", []):
            fds.append(create_map(m))
        for i in range(0, len(code), 8):
            if code[i] == 0x18 and (code[i + 1] >> 4) in (1, 2):
                idx = int.from_bytes(code[i + 4:i + 8], "little", signed=True)
                if 0 <= idx < len(fds):
                    code[i + 4:i + 8] = fds[idx].to_bytes(4, "little")
        buf = (ctypes.c_char * len(code)).from_buffer_copy(bytes(code))
        lic = ctypes.create_string_buffer(req.get("license", "GPL").encode())
        log = ctypes.create_string_buffer(1 << 20)
        a = ProgAttr(prog_type=req["progType"], insn_cnt=len(code) // 8,
                     insns=ctypes.addressof(buf), license=ctypes.addressof(lic),
                     log_level=req.get("logLevel", 1), log_size=len(log),
                     log_buf=ctypes.addressof(log),
                     expected_attach_type=req.get("expectedAttachType", 0),
                     prog_flags=req.get("progFlags", 0))
        fd, err = bpf(BPF_PROG_LOAD, a)
        text = log.value.decode(errors="replace")
        if fd >= 0:
            os.close(fd)
            return {"status": "accept", "errno": 0, "log": text}
        if err in (1,) and not text:  # EPERM without a log: no privilege
            return {"status": "unavailable", "errno": err, "log": "bpf(2) not permitted"}
        return {"status": "reject", "errno": err, "log": text}
    except OSError as e:
        return {"status": "error", "errno": e.errno or 0, "log": str(e)}
    finally:
        for fd in fds:
            os.close(fd)


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = load(json.loads(line))
        except Exception as e:  # malformed request: report, keep going
            out = {"status": "error", "errno": 0, "log": "bad request: %s" % e}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
