/*
 * What the compiler plants in Debian's binary modules and the kernel
 * normally patches or provides (FINDINGS.md §4); the source path never
 * uses these (its Linux files are compiled without them).
 *   __fentry__            every function's first call (ftrace): returns
 *   __x86_indirect_thunk_REG  retpolines for `call *REG`: a plain jump
 * (__x86_return_thunk, every `ret` as `jmp __x86_return_thunk`, is
 * lx_emul's: Linux's own assembly uses it too.)
 */
	.text
	.globl __fentry__
	.type __fentry__, @function
__fentry__:
	ret
	.size __fentry__, . - __fentry__

	.macro thunk reg
	.globl __x86_indirect_thunk_\reg
	.type __x86_indirect_thunk_\reg, @function
__x86_indirect_thunk_\reg:
	jmp *%\reg
	.size __x86_indirect_thunk_\reg, . - __x86_indirect_thunk_\reg
	.endm
	thunk rax
	thunk rbx
	thunk rcx
	thunk rdx
	thunk rsi
	thunk rdi
	thunk rbp
	thunk r8
	thunk r9
	thunk r10
	thunk r11
	thunk r12
	thunk r13
	thunk r14
	thunk r15

	.section .note.GNU-stack, "", @progbits
