/*
 * Configuration changes for code compiled into a driver process, included
 * right after Linux's generated configuration (dde_linux/linux.mk). Each
 * is a build-time step of Linux's that a user-space build does not run.
 */

/*
 * objtool turns the `jmp` of every static branch into a NOP at build time
 * (JUMP_LABEL_HACK); without objtool every unlikely branch would be taken.
 * The plain variant emits the NOP itself, so the code matches each static
 * key's initial state without patching.
 */
#undef CONFIG_HAVE_JUMP_LABEL_HACK

/*
 * Debian builds libata as a module (CONFIG_ATA=m); in a driver process it
 * is linked in with its drivers, and IS_REACHABLE(CONFIG_ATA) must say so
 * to code that is not a module of its own (Kbuild would pass -DMODULE).
 */
#define CONFIG_ATA 1
