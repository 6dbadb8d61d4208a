/*
 * The translated engine's two crossings on an x86-64 host (ko/dbt.c).
 */
#define STACK_ARGS 24

	.text

/*
 * ko_dbt_entry: where a native call into module code resumes (set up by
 * ko_dbt_redirect): the arguments in their registers, the return address
 * at (%rsp), stack arguments above it, the module function in %r11.
 * Calls ko_dbt_enter(&regs, stack arguments) and returns its rax:rdx.
 */
	.globl ko_dbt_entry
	.type ko_dbt_entry, @function
ko_dbt_entry:
	push %rbp
	mov %rsp, %rbp
	sub $64, %rsp
	and $-16, %rsp			/* module callers keep 8-byte alignment */
	mov %rdi, 0(%rsp)
	mov %rsi, 8(%rsp)
	mov %rdx, 16(%rsp)
	mov %rcx, 24(%rsp)
	mov %r8, 32(%rsp)
	mov %r9, 40(%rsp)
	mov %rax, 48(%rsp)
	mov %r11, 56(%rsp)
	mov %rsp, %rdi
	lea 16(%rbp), %rsi
	call ko_dbt_enter
	leave
	ret
	.size ko_dbt_entry, .-ko_dbt_entry

/*
 * struct pair ko_dbt_native(const struct native_call *c): call c->fn with
 * the module's argument registers (and %al, the vector count of a
 * variadic call) and STACK_ARGS words of its stack; rax:rdx back.
 */
	.globl ko_dbt_native
	.type ko_dbt_native, @function
ko_dbt_native:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	mov %rdi, %rbx
	sub $8 * STACK_ARGS + 8, %rsp
	and $-16, %rsp
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23
	mov 64 + 8 * \i(%rbx), %rax
	mov %rax, 8 * \i(%rsp)
	.endr
	mov 8(%rbx), %rdi
	mov 16(%rbx), %rsi
	mov 24(%rbx), %rdx
	mov 32(%rbx), %rcx
	mov 40(%rbx), %r8
	mov 48(%rbx), %r9
	mov 56(%rbx), %rax
	call *0(%rbx)
	mov -8(%rbp), %rbx
	leave
	ret
	.size ko_dbt_native, .-ko_dbt_native

	.section .note.GNU-stack, "", @progbits
