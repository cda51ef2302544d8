#!/usr/bin/env python3
# Test-only kernel oracle for BPF_PROG_TEST_RUN with a ctx_in: loads one raw
# instruction stream (bpf(2) through ctypes, nothing compiled) and test-runs
# it once per given ctx_in. Used by test/runtime/ctx-extent.test.ts.
#
# Input (stdin, one JSON object):
#   {"insns": "<hex>", "progType": 31, "progFlags": 4, "ctxIns": ["<hex>", ...]}
# Output (stdout, one JSON object):
#   {"status": "ok", "runs": [{"errno": N, "retval": R}, ...]}
#   or {"status": "unavailable"|"reject", "errno": N, "log": "..."}
import ctypes, json, os, sys

NR_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_TEST_RUN = 5, 10
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


class ProgAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", ctypes.c_uint32), ("expected_attach_type", ctypes.c_uint32),
                ("pad", ctypes.c_uint8 * 128)]


class TestAttr(ctypes.Structure):
    _fields_ = [("prog_fd", ctypes.c_uint32), ("retval", ctypes.c_uint32),
                ("data_size_in", ctypes.c_uint32), ("data_size_out", ctypes.c_uint32),
                ("data_in", ctypes.c_uint64), ("data_out", ctypes.c_uint64),
                ("repeat", ctypes.c_uint32), ("duration", ctypes.c_uint32),
                ("ctx_size_in", ctypes.c_uint32), ("ctx_size_out", ctypes.c_uint32),
                ("ctx_in", ctypes.c_uint64), ("ctx_out", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("cpu", ctypes.c_uint32),
                ("batch_size", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 64)]


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def test_run(fd, ctx_hex):
    ctx = bytes.fromhex(ctx_hex)
    buf = ctypes.create_string_buffer(ctx, max(len(ctx), 1))
    a = TestAttr(prog_fd=fd, ctx_size_in=len(ctx), ctx_in=ctypes.addressof(buf) if ctx else 0)
    r, err = bpf(BPF_PROG_TEST_RUN, a)
    return {"errno": err if r < 0 else 0, "retval": a.retval if r >= 0 else None}


def main():
    req = json.loads(sys.stdin.read())
    code = bytes.fromhex(req["insns"])
    buf = (ctypes.c_char * len(code)).from_buffer_copy(code)
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    a = ProgAttr(prog_type=req["progType"], insn_cnt=len(code) // 8, insns=ctypes.addressof(buf),
                 license=ctypes.addressof(lic), log_level=1, log_size=len(log),
                 log_buf=ctypes.addressof(log), prog_flags=req.get("progFlags", 0))
    fd, err = bpf(BPF_PROG_LOAD, a)
    if fd < 0:
        text = log.value.decode(errors="replace")
        status = "unavailable" if err == 1 and not text else "reject"
        print(json.dumps({"status": status, "errno": err, "log": text}))
        return
    try:
        print(json.dumps({"status": "ok", "runs": [test_run(fd, c) for c in req["ctxIns"]]}))
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
