# Hand-written assembly, as some projects ship it: no BTF, symbols without
# sizes or types (like objects from old compilers), a call into .text and a
# reference to global data. Assembled with llvm-mc (see Makefile).
	.text
	.globl	add_pair
add_pair:
	r0 = r1
	r0 += r2
	exit

	.section	xdp,"ax",@progbits
	.globl	xdp_asm
xdp_asm:
	r1 = 1
	r2 = 2
	call add_pair
	r1 = counter ll
	r2 = *(u64 *)(r1 + 0)
	r0 += r2
	r1 = 0x100000000 ll
	exit

	.section	.data,"aw",@progbits
	.globl	counter
counter:
	.quad	40

	.section	license,"aw",@progbits
	.asciz	"GPL"
