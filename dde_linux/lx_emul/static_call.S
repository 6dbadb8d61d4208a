/*
 * preempt_enable() calls the preempt_schedule static call from inline asm
 * that declares no clobbers. Tasks here are never preempted (they switch
 * only where they sleep), so the trampoline just returns, preserving every
 * register.
 */
	.text
	.globl __SCT__preempt_schedule, __SCT__preempt_schedule_notrace
__SCT__preempt_schedule:
__SCT__preempt_schedule_notrace:
	ret

/*
 * Paravirt interrupt-flag operations (pv_ops.irq, set up in cpu.c): callers
 * expect every register but %rax preserved. The flag is virtual.
 */
	.globl lx_pv_save_fl, lx_pv_irq_disable, lx_pv_irq_enable, lx_pv_unemulated
lx_pv_save_fl:
	movq lx_emul_irq_flags(%rip), %rax
	ret
lx_pv_irq_disable:
	movq $0, lx_emul_irq_flags(%rip)
	ret
lx_pv_irq_enable:
	movq $0x200, lx_emul_irq_flags(%rip)
	ret
/* any other paravirt operation: stop loudly (realign the stack for C) */
lx_pv_unemulated:
	andq $-16, %rsp
	call lx_emul_pv_unemulated
	ud2

/* what RET0 static calls (cond_resched, might_resched) point at */
	.globl __static_call_return0
__static_call_return0:
	xorl %eax, %eax
	ret

/* Linux's return thunk (CONFIG_RETHUNK in assembly from Linux's tree) */
	.globl __x86_return_thunk
__x86_return_thunk:
	ret

	.data
	.balign 8
	.globl __SCK__preempt_schedule, __SCK__preempt_schedule_notrace
__SCK__preempt_schedule:
	.quad __SCT__preempt_schedule, 0
__SCK__preempt_schedule_notrace:
	.quad __SCT__preempt_schedule_notrace, 0

	.section .note.GNU-stack,"",@progbits
