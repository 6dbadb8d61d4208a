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

	.data
	.balign 8
	.globl __SCK__preempt_schedule, __SCK__preempt_schedule_notrace
__SCK__preempt_schedule:
	.quad __SCT__preempt_schedule, 0
__SCK__preempt_schedule_notrace:
	.quad __SCT__preempt_schedule_notrace, 0

	.section .note.GNU-stack,"",@progbits
