# dde_linux: building unmodified Linux sources into driver processes.
#
# Linux comes from Debian packages (tools/fetch-linux, pinned in
# dde_linux/linux.pin) into $(DDE_CACHE), outside the tracked tree. Each
# driver is a recipe, drivers/NAME/linux.recipe, naming its Linux files;
# the Linux core files every driver shares are in dde_linux/core.list.
#
# Three kinds of C meet in a driver process, never in one file:
#   Linux files       unmodified, Linux's configured headers   (LX_CFLAGS)
#   dde_linux/lx_emul our kernel services, Linux's headers     (LX_CFLAGS)
#   dde_linux/lx_kit  the bridge to ddekit, libc headers       (CFLAGS)
# lx_emul reaches lx_kit only through dde_linux/include/lx_kit/*.h, which
# use plain C types.

include dde_linux/linux.pin

DDE_CACHE ?= $(if $(filter 0,$(shell id -u)),/var/cache/dde,$(HOME)/.cache/dde)
LX_DIR   := $(DDE_CACHE)/linux-$(LINUX_DEB_VERSION)
LX_SRC   := $(LX_DIR)/src
LX_HDR   := $(LX_DIR)/headers/usr/src/linux-headers-$(LINUX_ABI)-$(LINUX_FLAVOUR)
LX_READY := $(LX_DIR)/.complete

# Kbuild's include order and flags for x86-64 (FINDINGS.md §3), changed
# only where user space demands: -mcmodel=small, no stack protector (its
# canary lives at %gs:40), no -pg/fentry, no retpolines or return thunks.
LX_INC := -nostdinc -Idde_linux/shadow \
	-I$(LX_SRC)/arch/x86/include -I$(LX_HDR)/arch/x86/include/generated \
	-I$(LX_SRC)/include -I$(LX_HDR)/include \
	-I$(LX_SRC)/arch/x86/include/uapi -I$(LX_HDR)/arch/x86/include/generated/uapi \
	-I$(LX_SRC)/include/uapi -I$(LX_HDR)/include/generated/uapi \
	-include $(LX_SRC)/include/linux/compiler-version.h \
	-include $(LX_SRC)/include/linux/kconfig.h -include dde_linux/lx_config.h \
	-include $(LX_SRC)/include/linux/compiler_types.h
LX_CFLAGS := $(LX_INC) -D__KERNEL__ -std=gnu11 -fshort-wchar -funsigned-char \
	-fno-common -fno-PIE -fno-strict-aliasing -mno-sse -mno-mmx -mno-sse2 \
	-mno-3dnow -mno-avx -fcf-protection=none -m64 -falign-jumps=1 -falign-loops=1 \
	-mno-80387 -mno-fp-ret-in-387 -mtune=generic -mno-red-zone -mcmodel=small \
	-fno-asynchronous-unwind-tables -fno-delete-null-pointer-checks \
	-fno-allow-store-data-races -fno-stack-protector -fno-omit-frame-pointer \
	-fno-optimize-sibling-calls -fno-stack-clash-protection -DCC_USING_FENTRY \
	-fno-strict-overflow -fno-stack-check -fconserve-stack -g \
	$(if $(DEBUG),-O1,-O2) -MMD -MP
# Under SANITIZE, everything on the Linux side is instrumented too: our
# lx_emul and class glue, and Linux's files (but for alignment: Linux
# relies on x86's cheap unaligned loads, HAVE_EFFICIENT_UNALIGNED_ACCESS).
LX_SAN       := $(if $(SANITIZE),-fsanitize=$(SANITIZE))
LX_SAN_LINUX := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize=alignment)
# Linux's own warnings are Linux's business; ours must be clean.
LX_WARN_LINUX := -w
LX_WARN_OURS  := -Wall -Wno-sign-compare -Wno-pointer-sign -Wno-unused-const-variable \
	-Wno-address-of-packed-member -Wno-missing-prototypes

# --- what each driver is made of -------------------------------------------
# recipe lines: "class C", "module M", "linux PATH" (relative to Linux's tree),
# "option posted-writes" (see drivers/e1000/linux.recipe), "include DIR"
# (a directory of Linux's tree on the driver's include path, as Kbuild's
# ccflags-y += -I$(src)), "list L" (the Linux files of dde_linux/L.list,
# shared by several drivers: a subsystem such as libata), "glue C" (the
# class glue of class C besides the driver's own: a USB host's disks go
# through the block glue), "serves C..." (the class servers the driver
# attaches to, in its .class file for dde run: its class by default),
# "table T" (its MODULE_DEVICE_TABLE(pci, T), where the table sits in a
# file its listed files #include), "ko M" (Debian's module with the same
# PCI table, when it is not "module": a USB host's is its PCI glue's;
# tests/cli/test_linux_sources.sh compares the two)
LX_DRIVERS := $(patsubst drivers/%/linux.recipe,%,$(wildcard drivers/*/linux.recipe))
comma := ,
lx_recipe = $(shell sed -n 's/^$(2)[ \t]\+//p' drivers/$(1)/linux.recipe)
# "linux FILE": compiled unmodified; "linux-noinit FILE": the same, but its
# initcalls are not run (they set up what a driver process does not have,
# e.g. sysfs): their section is dropped from the object.
LX_CORE    := $(shell sed -n 's/^linux\(-noinit\)\?[ \t]\+//p' dde_linux/core.list)
LX_NOINIT  := $(shell sed -n 's/^linux-noinit[ \t]\+//p' dde_linux/*.list)
# per device class: more Linux files (dde_linux/CLASS.list) and the class
# glue, our code between the Linux subsystem and the class server
# (dde_linux/CLASS/*.c, compiled like lx_emul)
lx_class_files = $(shell sed -n 's/^linux\(-noinit\)\?[ \t]\+//p' dde_linux/$(1).list 2>/dev/null)
lx_class_glue  = $(patsubst dde_linux/$(1)/%.c,$(O)/lx_glue/$(1)/%.o,$(wildcard dde_linux/$(1)/*.c))
# the block glue reaches into Linux's block/ (blk-mq internals it drives)
$(call lx_class_glue,block): LX_CFLAGS += -I$(LX_SRC)/block
LX_EMUL    := $(wildcard dde_linux/lx_emul/*.c)
LX_KIT     := $(wildcard dde_linux/lx_kit/*.c)
LX_EMUL_S  := $(wildcard dde_linux/lx_emul/*.S)

lxobj = $(patsubst %.S,$(O)/linux/%.o,$(patsubst %.c,$(O)/linux/%.o,$(1)))

# Linux's files: KBUILD_MODNAME is the module's name for a driver's files,
# the file's own name for core files (as Kbuild does for built-in code),
# with '-' made '_' as Kbuild does (it becomes part of C identifiers).
lx_modname = $(subst -,_,$(or $(LX_MODNAME),$(basename $(notdir $(1)))))
$(O)/linux/%.o: $(LX_SRC)/%.c $(LX_READY) dde_linux/lx_config.h
	@mkdir -p $(dir $@)
	$(CC) $(LX_CFLAGS) $(LX_SAN_LINUX) $(LX_WARN_LINUX) \
		-DKBUILD_BASENAME='"$(basename $(notdir $<))"' \
		-DKBUILD_MODFILE='"$(basename $*)"' \
		-DKBUILD_MODNAME='"$(call lx_modname,$<)"' \
		-D__KBUILD_MODNAME=kmod_$(call lx_modname,$<) \
		-c -o $@ $<
	$(if $(filter $*.c,$(LX_NOINIT)),objcopy --remove-section='.initcall*' $@)

# Linux's assembly files, by a static rule: when make reads this file on a
# fresh machine the tree is not extracted yet, and a pattern rule would
# guess FILE.c for every object
LX_ASM_OBJS := $(call lxobj,$(filter %.S,$(shell sed -n 's/^linux\(-noinit\)\?[ \t]\+//p' \
	dde_linux/*.list drivers/*/linux.recipe)))
$(LX_ASM_OBJS): $(O)/linux/%.o: $(LX_SRC)/%.S $(LX_READY)
	@mkdir -p $(dir $@)
	$(CC) $(LX_INC) -D__KERNEL__ -D__ASSEMBLY__ -m64 -Wa,--noexecstack -MMD -MP -c -o $@ $<

$(O)/lx_glue/%.o: dde_linux/%.c $(LX_READY) dde_linux/lx_config.h
	@mkdir -p $(dir $@)
	$(CC) $(LX_CFLAGS) $(LX_SAN) $(LX_WARN_OURS) -Idde_linux/include -Idde_linux/lx_emul \
		-DKBUILD_BASENAME='"$(notdir $*)"' -DKBUILD_MODFILE='"lx_glue/$*"' -DKBUILD_MODNAME='"lx_glue"' -D__KBUILD_MODNAME=kmod_lx_glue \
		-c -o $@ $<

$(O)/lx_emul/%.o: dde_linux/lx_emul/%.c $(LX_READY) dde_linux/lx_config.h
	@mkdir -p $(dir $@)
	$(CC) $(LX_CFLAGS) $(LX_SAN) $(LX_WARN_OURS) -Idde_linux/include \
		-DKBUILD_BASENAME='"$*"' -DKBUILD_MODFILE='"lx_emul/$*"' -DKBUILD_MODNAME='"lx_emul"' -D__KBUILD_MODNAME=kmod_lx_emul \
		-c -o $@ $<

$(O)/lx_emul/%.o: dde_linux/lx_emul/%.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(LX_READY): tools/fetch-linux
	./tools/fetch-linux $(DDE_CACHE)

# lib/crc32.c's tables, made as Kbuild makes them: by Linux's own generator
# (a host program), from the configuration (CONFIG_CRC32_SLICEBY8)
$(O)/linux-gen/crc32table.h: $(LX_READY)
	@mkdir -p $(dir $@)
	$(CC) -O2 -iquote $(LX_HDR)/include -o $(O)/linux-gen/gen_crc32table $(LX_SRC)/lib/gen_crc32table.c
	$(O)/linux-gen/gen_crc32table >$@.tmp && mv $@.tmp $@
$(O)/linux/lib/crc32.o: $(O)/linux-gen/crc32table.h
$(O)/linux/lib/crc32.o: LX_CFLAGS += -iquote $(O)/linux-gen

# regmap's trace points are defined from its own directory (define_trace.h
# finds "trace.h" on the include path, as Kbuild's -I$(src))
$(O)/linux/drivers/base/regmap/%.o: LX_CFLAGS += -I$(LX_SRC)/drivers/base/regmap

# the SCSI device flags' names, made as drivers/scsi/Makefile makes them
$(O)/linux-gen/scsi_devinfo_tbl.c: $(LX_READY)
	@mkdir -p $(dir $@)
	sed -n 's/.*define *BLIST_\([A-Z0-9_]*\) *.*/BLIST_FLAG_NAME(\1),/p' \
		$(LX_SRC)/include/scsi/scsi_devinfo.h >$@.tmp && mv $@.tmp $@
$(O)/linux/drivers/scsi/scsi_sysfs.o: $(O)/linux-gen/scsi_devinfo_tbl.c
$(O)/linux/drivers/scsi/scsi_sysfs.o: LX_CFLAGS += -iquote $(O)/linux-gen

# Linux files appear when the tree is fetched (order-only: the tree's
# files keep the tarball's dates, older than the fetch). They are never
# make's to delete, as intermediate files of a chain would be at the end
# of a first build.
.PRECIOUS: $(LX_SRC)/%.c $(LX_SRC)/%.S
$(LX_SRC)/%.c $(LX_SRC)/%.S: | $(LX_READY)
	@test -f $@ || { echo "dde_linux: $@ is not in the extracted Linux tree" \
		"(add its directory to DIRS in tools/fetch-linux)" >&2; exit 1; }

# Kernel code keeps the stack only 8-byte aligned (binary modules are built
# with -mpreferred-stack-boundary=3). lx_kit, where Linux code enters host
# code (libc, ddekit), is compiled to expect that: each of its functions
# that calls on or needs alignment realigns the stack first (-mstackrealign
# would not: it realigns only for the function's own aligned locals).
$(call obj,$(LX_KIT)): CFLAGS += -mincoming-stack-boundary=3

LX_EMUL_OBJS := $(patsubst dde_linux/lx_emul/%.c,$(O)/lx_emul/%.o,$(LX_EMUL)) \
	$(patsubst dde_linux/lx_emul/%.S,$(O)/lx_emul/%.o,$(LX_EMUL_S))
LX_CORE_OBJS := $(call lxobj,$(LX_CORE))

# One driver: its Linux objects (compiled with its module name), the common
# part, and generated stubs for whatever is still undefined.
define lx_driver
LX_CLASS_$(1) := $$(call lx_recipe,$(1),class)
LX_OBJS_$(1) := $$(call lxobj,$$(call lx_recipe,$(1),linux))
LX_COBJS_$(1) := $$(call lxobj,$$(call lx_class_files,$$(LX_CLASS_$(1)))) \
	$$(call lx_class_glue,$$(LX_CLASS_$(1))) \
	$$(foreach g,$$(call lx_recipe,$(1),glue),$$(call lx_class_glue,$$(g))) \
	$$(foreach l,$$(call lx_recipe,$(1),list),$$(call lxobj,$$(call lx_class_files,$$(l))))
$$(LX_OBJS_$(1)): LX_MODNAME := $$(call lx_recipe,$(1),module)
$$(LX_OBJS_$(1)): LX_CFLAGS += $$(patsubst %,-I$(LX_SRC)/%,$$(call lx_recipe,$(1),include))
$(O)/drivers/$(1): drivers/$(1)/linux.recipe $$(wildcard dde_linux/*.list) $$(LX_OBJS_$(1)) $$(LX_COBJS_$(1)) $$(LX_EMUL_OBJS) $$(LX_CORE_OBJS) \
		$$(call obj,$$(LX_KIT)) $$(LIBDDEKIT) $$(DDEKIT_TRAP) $$(LIBDDENET) $$(LIBDDEBLK) dde_linux/lx.ld tools/gen-stubs $$(SAN_OBJ)
	@mkdir -p $$(dir $$@) $(O)/stubs
	./tools/gen-stubs $(1) $(O)/stubs/$(1) $$(LX_OBJS_$(1)) $$(LX_COBJS_$(1)) $$(LX_EMUL_OBJS) $$(LX_CORE_OBJS) \
		-- $$(call obj,$$(LX_KIT)) $$(LIBDDEKIT)
	echo "const int lx_recipe_posted_writes = $$(if $$(filter posted-writes,$$(call lx_recipe,$(1),option)),1,0);" \
		>$(O)/stubs/$(1)-recipe.c
	$$(CC) $$(CFLAGS) -c -o $(O)/stubs/$(1)-stubs.o $(O)/stubs/$(1)-stubs.c
	$$(CC) $$(CFLAGS) -c -o $(O)/stubs/$(1)-recipe.o $(O)/stubs/$(1)-recipe.c
	$$(CC) $$(LDFLAGS) -no-pie -Wl,-T,dde_linux/lx.ld -o $$@ $(O)/stubs/$(1).o \
		$(O)/stubs/$(1)-stubs.o $(O)/stubs/$(1)-recipe.o $$(call obj,$$(LX_KIT)) $$(SAN_OBJ) \
		$$(DDEKIT_TRAP) $$(LIBDDEKIT) $$(LIBDDENET) $$(LIBDDEBLK) $$(LX_LIBS)
	echo $$(or $$(call lx_recipe,$(1),serves),$$(LX_CLASS_$(1))) >$$@.class
# the PCI ids it claims: the recipe's `pci` lines, or else its Linux
# files' MODULE_DEVICE_TABLE(pci, ...)
$(O)/drivers/$(1).aliases: $$(LX_OBJS_$(1)) $(O)/tools/mkindex drivers/$(1)/linux.recipe
	@mkdir -p $$(dir $$@)
	$$(if $$(call lx_recipe,$(1),pci),$(O)/tools/mkindex ids $(1) $$(LX_CLASS_$(1)) \
		$$(call lx_recipe,$(1),pci) >$$@.tmp && mv $$@.tmp $$@,$(O)/tools/mkindex source $(1) $$(LX_CLASS_$(1)) \
		$$(or $$(call lx_recipe,$(1),table),$$$$(sed -n 's/.*MODULE_DEVICE_TABLE(pci$$(comma) *\([A-Za-z0-9_]*\)).*/\1/p' \
			$$(patsubst %,$(LX_SRC)/%,$$(call lx_recipe,$(1),linux)))) \
		-- $$(LX_OBJS_$(1)) >$$@.tmp && mv $$@.tmp $$@)
endef
$(foreach d,$(LX_DRIVERS),$(eval $(call lx_driver,$(d))))

LX_BINS := $(patsubst %,$(O)/drivers/%,$(LX_DRIVERS))

# --- the binary path (docs/ko.md) -------------------------------------------
# Debian's binary modules of the same build (tools/fetch-modules), and the
# kernel-service library they link against: the same lx_emul, Linux core
# and class files as the source path, plus what only binary modules use
# (dde_linux/ksrv), with an explicit export table (tools/gen-exports).
KO_DIR   := $(LX_DIR)/modules
KO_READY := $(LX_DIR)/.modules-all
KSRV_SRC := $(wildcard dde_linux/ksrv/*.c dde_linux/ksrv/*.S)
KSRV_OBJS := $(patsubst dde_linux/ksrv/%,$(O)/ksrv/%.o,$(basename $(KSRV_SRC)))
# the host side of a binary driver host: its main, and lx_kit but for
# lx_kit's main (both realign the stack: module code keeps 8 bytes); the
# translated engine (unicorn) with its two crossings
KO_HOST_OBJS := $(call obj,ko/host.c ko/watch.c ko/dbt.c $(filter-out dde_linux/lx_kit/main.c,$(LX_KIT))) \
	$(O)/obj/ko/dbt_x86.o
$(call obj,ko/host.c ko/watch.c ko/dbt.c): CFLAGS += -mincoming-stack-boundary=3
# The classes with a driver host, and what each one's service library
# holds beyond the common part: the class's Linux files and glue (a class
# is one entry here; docs/drivers.md, "Adding a class").
KO_CLASSES := net block sound usb
KSRV_OBJS_net := $(call lxobj,$(call lx_class_files,net) lib/scatterlist.c lib/idr.c lib/xarray.c \
	lib/radix-tree.c lib/cpumask.c drivers/virtio/virtio_anchor.c) $(call lx_class_glue,net)
KSRV_OBJS_block := $(call lxobj,$(call lx_class_files,block) lib/sg_pool.c lib/glob.c \
	drivers/virtio/virtio_anchor.c block/blk-mq-virtio.c) \
	$(call lx_class_glue,block)
# The sound library holds ALSA's core compiled from source (dde_linux/
# sound.list): the binary modules of that core are never loaded, their
# exports are the library's (KSRV_BUILTIN_CLASS, for tools/gen-exports).
KSRV_OBJS_sound := $(call lxobj,$(call lx_class_files,sound)) $(call lx_class_glue,sound)
KSRV_BUILTIN_sound := soundcore,snd,snd-pcm,snd-timer,snd-rawmidi,snd-seq-device,snd-hwdep
# The USB library holds what vmlinux holds for USB (the input core, PCI
# quirks: dde_linux/usb-vmlinux.list) and the block layer; usbcore, the
# host controller drivers, HID, usb-storage and SCSI are the package's
# modules. The USB glue's stand-in for usbcore's ACPI file is usbcore's
# own in the binary. A USB host serves two classes (its .class file).
KSRV_OBJS_usb := $(call lxobj,$(call lx_class_files,usb-vmlinux) $(call lx_class_files,block) \
	lib/sg_pool.c lib/glob.c) $(filter-out %/usb-acpi.o,$(call lx_class_glue,usb)) \
	$(call lx_class_glue,block)
KO_SERVES_usb := input block

$(KO_READY): $(LX_READY)
	./tools/fetch-modules $(DDE_CACHE)

$(O)/ksrv/%.o: dde_linux/ksrv/%.c $(LX_READY) dde_linux/lx_config.h
	@mkdir -p $(dir $@)
	$(CC) $(LX_CFLAGS) $(LX_SAN) $(LX_WARN_OURS) -Idde_linux/include -Idde_linux/lx_emul \
		-DKBUILD_BASENAME='"$*"' -DKBUILD_MODFILE='"ksrv/$*"' -DKBUILD_MODNAME='"ksrv"' -D__KBUILD_MODNAME=kmod_ksrv \
		-c -o $@ $<

$(O)/ksrv/%.o: dde_linux/ksrv/%.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

# One class's service library, joined, its export table, and its driver
# host: the library, the loader and the host's main (ko/host.c) in place of
# lx_kit's, linked like a source-built driver (non-PIE, below 2 GiB: the
# modules' -mcmodel=kernel code reaches the library with 32-bit
# relocations). -fno-pie for the table: it holds libc's functions (memcpy
# ...) by their canonical address, the program's own PLT entry.
define ko_host
KSRV_ALL_$(1) := $$(KSRV_OBJS) $$(KSRV_OBJS_$(1)) $$(LX_EMUL_OBJS) $$(LX_CORE_OBJS)
$(O)/share/dde/ksrv-$(1).exports: $$(KSRV_ALL_$(1)) $$(KO_HOST_OBJS) $$(LIBDDEKIT) tools/gen-stubs tools/gen-exports \
		dde_linux/linux.mk
	@mkdir -p $$(dir $$@) $(O)/stubs
	./tools/gen-stubs ksrv-$(1) $(O)/stubs/ksrv-$(1) $$(KSRV_ALL_$(1)) -- $$(KO_HOST_OBJS) $$(LIBDDEKIT) $$(LIBKO)
	./tools/gen-exports $(1) $(O)/stubs/ksrv-$(1).o $(O)/stubs/ksrv-$(1).renamed \
		$$(LX_HDR)/Module.symvers $(O)/stubs/ksrv-$(1) $$(LINUX_ABI)-$$(LINUX_FLAVOUR) \
		"$$(KSRV_BUILTIN_$(1))"
	cp $(O)/stubs/ksrv-$(1).exports $$@
$(O)/drivers/ko-$(1): $(O)/share/dde/ksrv-$(1).exports $$(KO_HOST_OBJS) $$(LIBKO) $$(LIBDDEKIT) \
		$$(DDEKIT_TRAP) $$(LIBDDENET) $$(LIBDDEBLK) dde_linux/lx.ld $$(SAN_OBJ)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -c -o $(O)/stubs/ksrv-$(1)-stubs.o $(O)/stubs/ksrv-$(1)-stubs.c
	$$(CC) $$(CFLAGS) -fno-pie -c -o $(O)/stubs/ksrv-$(1)-exports.o $(O)/stubs/ksrv-$(1)-exports.c
	$$(CC) $$(LDFLAGS) -no-pie -Wl,-T,dde_linux/lx.ld -o $$@ $(O)/stubs/ksrv-$(1).o \
		$(O)/stubs/ksrv-$(1)-stubs.o $(O)/stubs/ksrv-$(1)-exports.o $$(KO_HOST_OBJS) $$(SAN_OBJ) \
		$$(LIBKO) $$(DDEKIT_TRAP) $$(LIBDDEKIT) $$(LIBDDENET) $$(LIBDDEBLK) $$(LX_LIBS) -lunicorn
	echo $$(or $$(KO_SERVES_$(1)),$(1)) >$$@.class
endef
$(foreach c,$(KO_CLASSES),$(eval $(call ko_host,$(c))))

# where the modules are, for `dde run --driver ko:NAME`
$(O)/share/dde/ko-dir: $(KO_READY)
	@mkdir -p $(dir $@)
	echo $(KO_DIR) >$@

# The drivers whose recipe says their register writes may be posted
# (drivers/NAME/linux.recipe): the binary module of the same name is the
# same Linux code, and the driver host posts its writes too.
$(O)/share/dde/posted-writes: $(wildcard drivers/*/linux.recipe)
	@mkdir -p $(dir $@)
	for r in $^; do grep -q '^option[[:space:]]\+posted-writes' $$r && \
		sed -n 's/^module[[:space:]]\+//p' $$r; done | tr - _ >$@.tmp; mv $@.tmp $@

# The driver index (docs/drivers.md): every source driver's PCI ids and
# every binary module of the package by name, with its PCI aliases.
$(O)/tools/mkindex: tools/mkindex.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<
$(O)/share/dde/drivers.index: $(patsubst %,$(O)/drivers/%.aliases,$(LX_DRIVERS)) $(KO_READY) \
		$(O)/tools/mkindex
	@mkdir -p $(dir $@)
	{ echo "# dde driver index: KIND NAME CLASS PATTERN (tools/mkindex)"; \
	  cat $(patsubst %,$(O)/drivers/%.aliases,$(LX_DRIVERS)) && \
	  $(O)/tools/mkindex modules $(LX_DIR)/modules-tree/lib/modules/$(LINUX_ABI)-$(LINUX_FLAVOUR)/kernel; \
	} >$@.tmp && mv $@.tmp $@

KO_BINS := $(O)/share/dde/drivers.index $(O)/share/dde/posted-writes $(KO_READY) $(O)/share/dde/ko-dir \
	$(foreach c,$(KO_CLASSES),$(O)/share/dde/ksrv-$(c).exports $(O)/drivers/ko-$(c))

-include $(shell find $(O)/linux $(O)/lx_emul $(O)/lx_glue $(O)/ksrv -name '*.d' 2>/dev/null)

# For tests/cli/test_linux_sources.sh: where the tree is, and every Linux
# file some driver compiles.
.PHONY: lx-files lx-core-objs
lx-files:
	@echo "dir $(LX_DIR)"
	@for f in $(sort $(LX_CORE) $(foreach d,$(LX_DRIVERS),$(call lx_recipe,$(d),linux) \
			$(call lx_class_files,$(call lx_recipe,$(d),class)))); do \
		echo "file $$f"; done

# For tests/cli/test_ko.sh: where Debian's binary modules are.
.PHONY: ko-dir
ko-dir:
	@echo $(KO_DIR)

# For tests/bench/net_bench.sh: the objects of the common Linux files.
lx-core-objs:
	@echo $(LX_CORE_OBJS)
