#!/usr/bin/env python3
# TEST-ONLY kernel oracle for classic socket filters (used by
# kernel-oracle.test.ts; needs root). Reads JSON from stdin:
#   {"programs": [[[code, jt, jf, k], ...], ...], "packets": ["hex", ...]}
# and, for each program, attaches it with SO_ATTACH_FILTER to an AF_PACKET
# socket on the loopback device, sends every packet as an Ethernet frame on
# lo, and reports what the socket received: the received length (the
# kernel cuts a frame to the filter's return value), 0 when the filter
# dropped it, or "EINVAL" when the kernel refused the program.
# Exit status 77 means the oracle cannot run here (no root, no AF_PACKET).
import ctypes, json, select, socket, struct, sys

SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_AUXDATA = 8
SO_ATTACH_FILTER = 26
ETH_P_ALL = 3


def packet_socket():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind(("lo", 0))
    return s


def receive(sock):
    """(bytes received, original frame length from struct tpacket_auxdata)."""
    data, anc, _, _ = sock.recvmsg(65536, 256)
    orig = -1
    for level, kind, value in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            orig = struct.unpack_from("II", value)[1]
    return data, orig


def attach(sock, prog):
    raw = b"".join(struct.pack("HBBI", c, jt, jf, k) for c, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buf


def drain(sock):
    while select.select([sock], [], [], 0)[0]:
        sock.recv(65536)


def main():
    req = json.load(sys.stdin)
    frames = [bytes.fromhex(h) for h in req["packets"]]
    try:
        sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sender.bind(("lo", 0))
        sentinel = packet_socket()
    except PermissionError:
        sys.exit(77)
    results = []
    for prog in req["programs"]:
        sock = packet_socket()
        try:
            keep = attach(sock, prog)
        except OSError:
            results.append("EINVAL")
            sock.close()
            continue
        got = []
        for frame in frames:
            drain(sock)
            sender.send(frame)
            # The sentinel sees every frame on lo; once it has ours, the filtered socket has had its chance.
            while True:
                if not select.select([sentinel], [], [], 2.0)[0]:
                    raise SystemExit("oracle: frame not seen on lo")
                data, _ = receive(sentinel)
                if data == frame:
                    break
            n = 0
            while select.select([sock], [], [], 0)[0]:
                data, orig = receive(sock)
                # other traffic on lo may pass the filter too: ours has our length and our bytes
                if orig == len(frame) and len(data) > 0 and frame.startswith(data):
                    n = len(data)
            got.append(n)
        results.append(got)
        del keep
        sock.close()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
