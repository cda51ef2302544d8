; demo.s: the Internet checksum (RFC 1071) of the input buffer, in LLVM's
; BPF assembly syntax. On entry r1 = address of the input, r2 = its length.
; Returns the 16-bit one's-complement checksum of the 16-bit words as loaded.
	r0 = 0
	r3 = r1
	r3 += r2                      ; r3 = end of input
loop:
	r4 = r1
	r4 += 2
	if r4 > r3 goto fold          ; fewer than 2 bytes left
	r5 = *(u16 *)(r1 + 0x0)
	r0 += r5
	r1 = r4
	goto loop
fold:
	r4 = r0
	r4 >>= 16
	r0 &= 0xffff
	r0 += r4                      ; fold the carries back in
	r4 = r0
	r4 >>= 16
	r0 += r4
	r0 ^= -1
	r0 &= 0xffff
	exit
