# dde — user-level driver reuse. One make; `make help` lists the targets.
#
#   make                      build everything into build/
#   make SANITIZE=address,undefined   ... with sanitizers, into build-san/
#   make DEBUG=1              ... without optimisation, into build-debug/

# Every rule is ours: no built-in implicit rules (they would try to remake
# dependency files from sources that do not exist).
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

CC      ?= gcc
SANITIZE ?=
DEBUG   ?=

ifneq ($(SANITIZE),)
O       ?= build-san
MODE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE)
# every program links common/sanitize.c: UBSan's log_path (see there)
SAN_OBJ := $(O)/obj/common/sanitize.o
MODE_LDFLAGS := -fsanitize=$(SANITIZE)
else ifneq ($(DEBUG),)
O       ?= build-debug
MODE_CFLAGS := -O0 -g3
else
O       ?= build
MODE_CFLAGS := -O2 -g
endif

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral
CFLAGS  := -std=gnu11 $(WARN) $(MODE_CFLAGS) -pthread -Iinclude -Idde_linux/include -MMD -MP $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(MODE_LDFLAGS)

# Debian packages the build, the tests and the demo need (see README).
BUILD_PKGS := gcc make pkg-config libinih-dev libpci-dev libcmocka-dev libzydis-dev libgnutls28-dev \
              clang libclang-rt-14-dev libunicorn-dev libsodium-dev libncurses-dev \
              libseccomp-dev libasound2-dev uefitool-cli libnbd-dev
RUN_PKGS   := qemu-system-x86 qemu-utils pci.ids tcpdump iproute2 iputils-ping netcat-openbsd busybox \
	fdisk libnbd-bin nbd-client tmux gnutls-bin alsa-utils sox
# ... and what only `make bench` needs (fio: the block figures, through its
# nbd engine and on the image file with O_DIRECT)
BENCH_PKGS := fio

# --- pieces -----------------------------------------------------------------
COMMON_SRC   := common/machine.c common/models.c common/slot.c common/errtext.c
PLATFORM_SRC := platform/platform.c platform/qemu/machine.c platform/qemu/iommu.c platform/qemu/qtest.c platform/qemu/pci.c platform/qemu/msi.c platform/qemu/quirks.c platform/vfio/vfio.c
DDEIO_SRC    := ddeio/main.c ddeio/server.c ddeio/requests.c ddeio/msi.c common/logline.c common/access.c common/seqpacket.c
DDEKIT_SRC   := $(filter-out ddekit/trap.c,$(wildcard ddekit/*.c)) common/slot.c common/seqpacket.c
DDE_SRC      := $(wildcard tools/dde/*.c) $(wildcard nbd/*.c) common/access.c
KO_SRC       := ko/elf.c ko/load.c ko/file.c
# the PE32+ reader and loader for UEFI drivers, and option ROMs
EFI_SRC      := efi/pe.c efi/rom.c efi/guids.c efi/status.c
TESTDEV_SRC  := $(filter-out drivers/selftest/selftest.c,$(wildcard drivers/selftest/*.c))

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

LIBDDEKIT   := $(O)/lib/libddekit.a
# what every program linking libddekit needs after it (libseccomp: the
# sandbox's system-call filter)
DDEKIT_LIBS := -lseccomp
# the trap engine (plain loads/stores on BARs, in/out), an object linked only
# into programs that access BARs with plain instructions (Linux drivers, the
# ko hosts, selftest, their tests): ddekit_init installs it where it is linked; Zydis decodes
# (before libddekit on the link line)
DDEKIT_TRAP := $(O)/obj/ddekit/trap.o
TRAP_LIBS   := -lZydis
LX_LIBS     += $(TRAP_LIBS) $(DDEKIT_LIBS)
LIBTESTDEV  := $(O)/lib/libtestdev.a
LIBDDENET   := $(O)/lib/libddenet.a
LIBDDENET_SRC := libddenet/client.c libddenet/ring.c common/seqpacket.c common/bell.c
LIBDDEBLK   := $(O)/lib/libddeblk.a
LIBDDEBLK_SRC := libddeblk/client.c libddeblk/chan.c common/seqpacket.c common/bell.c
LIBDDESND   := $(O)/lib/libddesnd.a
LIBDDESND_SRC := libddesnd/client.c libddesnd/ring.c common/seqpacket.c common/bell.c
LIBDDEINPUT := $(O)/lib/libddeinput.a
LIBDDEINPUT_SRC := libddeinput/client.c libddeinput/names.c common/seqpacket.c
# Linux's names of the input event types and codes (libddeinput/names.c)
INPUT_NAMES := $(O)/gen/libddeinput/input_names.h
INPUT_CODES := /usr/include/linux/input-event-codes.h
# the ALSA plugins (`aplay -D dde`, `amixer -D dde`): libddesnd's code built
# position-independent into alsa-lib's external PCM and control plugins, and
# the configuration naming them
ALSA_PLUGIN := $(O)/lib/alsa/libasound_module_pcm_dde.so
ALSA_CTL_PLUGIN := $(O)/lib/alsa/libasound_module_ctl_dde.so
ALSA_CONF   := $(O)/share/alsa/dde.conf
LIBPLATFORM := $(O)/lib/libplatform.a
LIBKO       := $(O)/lib/libko.a
LIBEFI      := $(O)/lib/libefi.a

BINS := $(O)/bin/dde $(O)/bin/ddeio $(O)/bin/netd $(O)/bin/bddf $(O)/bin/sndd $(O)/bin/inputd $(O)/bin/dsweeper $(LIBDDENET) $(LIBDDEBLK) $(LIBDDESND) $(LIBDDEINPUT) $(ALSA_PLUGIN) $(ALSA_CTL_PLUGIN) $(ALSA_CONF) $(O)/drivers/selftest $(O)/share/dde/firmware.bin

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(wildcard tests/unit/test_*.c))
INTEG_TESTS := $(patsubst tests/integration/%.c,$(O)/tests/integration/%,$(wildcard tests/integration/test_*.c))
BENCH       := $(O)/tests/bench/platform_bench
# the NIC models' own ceilings (frames/s), which net_bench.sh holds the drivers against
CEILING_NET := $(O)/tests/bench/ceiling_net
VFIO_TESTS  := $(O)/tests/vfio/mmio_cost $(O)/tests/vfio/dma_escape
NET_TESTS   := $(patsubst tests/net/%.c,$(O)/tests/net/%,$(wildcard tests/net/*.c))
INPUT_TESTS := $(patsubst tests/input/%.c,$(O)/tests/input/%,$(wildcard tests/input/*.c))
BLOCK_TESTS := $(patsubst tests/block/%.c,$(O)/tests/block/%,$(wildcard tests/block/*.c))
FAULT_TESTS := $(patsubst tests/faults/%.c,$(O)/tests/faults/%,$(wildcard tests/faults/*.c))
SOUND_TESTS := $(patsubst tests/sound/%.c,$(O)/tests/sound/%,$(wildcard tests/sound/*.c))
SANDBOX_TESTS := $(O)/tests/sandbox/escape
SAN_TESTS   := $(if $(SANITIZE),$(O)/tests/san/canary)
# `make check` also builds everything with sanitizers, here, and runs the
# network path with them (tests/cli/test_sanitize.sh)
SAN_O       ?= $(if $(SANITIZE),$(O),$(O)-san)

.DEFAULT_GOAL := all
include dde_linux/linux.mk
include efi/efi.mk

.PHONY: all help deps demo check check-vfio test bench clean fuzz faults install uninstall
all: $(BINS) $(LX_BINS) $(KO_BINS) $(EFI_BINS) $(UNIT_TESTS) $(INTEG_TESTS) $(BENCH) $(CEILING_NET) $(VFIO_TESTS) $(NET_TESTS) $(INPUT_TESTS) $(BLOCK_TESTS) $(FAULT_TESTS) $(SOUND_TESTS) $(SAN_TESTS) $(SANDBOX_TESTS)

help:
	@echo "make              build everything (into $(O)/)"
	@echo "make deps         install the Debian packages that are missing (as root)"
	@echo "make demo         deps + build + start the default machine and self-test its devices"
	@echo "make check        deps + build (also with sanitizers, into $(SAN_O)/) + run every test;"
	@echo "                  last line: N passed, N failed, N skipped"
	@echo "make check-vfio   the vfio backend in a QEMU guest (Debian's kernel, an IOMMU,"
	@echo "                  an e1000 and an NVMe bound to vfio-pci): self-test and DHCP"
	@echo "make bench        deps + build + print the platform figures"
	@echo "make fuzz         fuzz the module and PE32+ readers and loaders (FUZZ_SECONDS=$(FUZZ_SECONDS))"
	@echo "make faults       the fault-injection campaign: FAULTS=$(FAULTS) faults in batches of up to"
	@echo "                  $(FAULT_BATCH) into five running drivers under verifying clients (SEED=N repeats one)"
	@echo "make install      install into PREFIX=$(PREFIX) (DESTDIR= for staging); dde in PREFIX/bin"
	@echo "make clean        remove build output"
	@echo "options: SANITIZE=address,undefined  DEBUG=1  O=DIR"

deps:
	@./tools/install-deps $(BUILD_PKGS) $(RUN_PKGS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(LIBDDEKIT): $(call obj,$(DDEKIT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBDDENET): $(call obj,$(LIBDDENET_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(O)/bin/netd: $(call obj,netd/netd.c netd/export.c common/logline.c common/access.c) $(LIBDDENET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(LIBDDEBLK): $(call obj,$(LIBDDEBLK_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBDDESND): $(call obj,$(LIBDDESND_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(O)/bin/sndd: $(call obj,$(wildcard sndd/*.c) common/classsrv.c common/logline.c common/access.c common/seqpacket.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(LIBDDEINPUT): $(call obj,$(LIBDDEINPUT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The names as the host's linux-libc-dev defines them: each "#define NAME
# number" of a type's prefix (EV_ for the types), but the prefixes' own
# _MAX and _CNT, as table rows in the header's order
$(INPUT_NAMES): $(INPUT_CODES)
	@mkdir -p $(dir $@)
	awk 'BEGIN { n = split("EV:-1 SYN:EV_SYN KEY:EV_KEY BTN:EV_KEY REL:EV_REL ABS:EV_ABS " \
			"MSC:EV_MSC SW:EV_SW LED:EV_LED SND:EV_SND REP:EV_REP", pairs, " "); \
		for (i = 1; i <= n; i++) { split(pairs[i], kv, ":"); type[kv[1]] = kv[2] } \
		print "/* made by make from $(INPUT_CODES): do not edit */" } \
	$$1 == "#define" && $$3 ~ /^(0x[0-9a-fA-F]+|[0-9]+)$$/ { \
		prefix = $$2; sub(/_.*/, "", prefix); \
		if (!(prefix in type) || $$2 ~ /^[A-Z]+_(MAX|CNT)$$/) next; \
		printf "\t{ %s, %s, \"%s\" },\n", type[prefix], $$2, $$2 }' $< >$@.tmp && mv $@.tmp $@

$(O)/obj/libddeinput/names.o: $(INPUT_NAMES)
$(O)/obj/libddeinput/names.o: CFLAGS += -I$(dir $(INPUT_NAMES))

$(O)/bin/inputd: $(call obj,$(wildcard inputd/*.c) common/classsrv.c common/logline.c common/access.c) $(LIBDDEINPUT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# Position-independent objects for the ALSA plugin, never with sanitizers
# (it is loaded into programs that are not built with them); PIC: alsa-lib's
# headers then name the plugin's entry as dlsym finds it
PIC_CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS)) -fPIC -DPIC
pic = $(patsubst %.c,$(O)/pic/%.o,$(1))

$(O)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PIC_CFLAGS) -c -o $@ $<

$(ALSA_PLUGIN): $(call pic,libddesnd/alsa_pcm.c libddesnd/alsa_args.c $(LIBDDESND_SRC)) libddesnd/alsa_pcm.map
	@mkdir -p $(dir $@)
	$(CC) -shared -pthread -Wl,-z,defs -Wl,--version-script=libddesnd/alsa_pcm.map \
		-o $@ $(filter %.o,$^) $$(pkg-config --libs alsa)

$(ALSA_CTL_PLUGIN): $(call pic,libddesnd/alsa_ctl.c libddesnd/alsa_args.c $(LIBDDESND_SRC)) libddesnd/alsa_ctl.map
	@mkdir -p $(dir $@)
	$(CC) -shared -pthread -Wl,-z,defs -Wl,--version-script=libddesnd/alsa_ctl.map \
		-o $@ $(filter %.o,$^) $$(pkg-config --libs alsa)

# alsa_conf PCMLIB,CTLLIB: pcm.dde (aplay -D dde, dde:PCM, dde:PCM,SERVER) on
# the PCM plugin PCMLIB, ctl.dde (amixer -D dde, dde:CARD, dde:CARD,SERVER)
# on the control plugin CTLLIB
alsa_conf = printf '%s\n' \
	'\# dde: ALSA programs on the sound server (docs/sound.md), made by make' \
	'pcm_type.dde { lib "$(1)" }' \
	'pcm.dde {' \
	'	@args [ PCM SERVER ]' \
	'	@args.PCM { type string default "" }' \
	'	@args.SERVER { type string default "" }' \
	'	type dde' \
	'	pcm $$PCM' \
	'	server $$SERVER' \
	'	hint { show on description "dde: a PCM of the sound server (DDE_SND)" }' \
	'}' \
	'ctl_type.dde { lib "$(2)" }' \
	'ctl.dde {' \
	'	@args [ CARD SERVER ]' \
	'	@args.CARD { type string default "" }' \
	'	@args.SERVER { type string default "" }' \
	'	type dde' \
	'	card $$CARD' \
	'	server $$SERVER' \
	'}'

$(ALSA_CONF): $(ALSA_PLUGIN) $(ALSA_CTL_PLUGIN)
	@mkdir -p $(dir $@)
	$(call alsa_conf,$(abspath $(ALSA_PLUGIN)),$(abspath $(ALSA_CTL_PLUGIN))) >$@

$(O)/bin/bddf: $(call obj,$(wildcard bddf/*.c) common/logline.c common/access.c) $(LIBDDEBLK)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/bin/dsweeper: $(call obj,$(wildcard dsweeper/*.c)) $(LIBDDEBLK)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lsodium $$(pkg-config --libs ncursesw)

$(LIBTESTDEV): $(call obj,$(TESTDEV_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBPLATFORM): $(call obj,$(PLATFORM_SRC) $(COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(O)/bin/ddeio: $(call obj,$(DDEIO_SRC)) $(LIBPLATFORM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -linih

$(LIBKO): $(call obj,$(KO_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBEFI): $(call obj,$(EFI_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(O)/bin/dde: $(call obj,$(DDE_SRC) $(COMMON_SRC)) $(LIBDDEKIT) $(LIBKO) $(LIBEFI) $(LIBDDEBLK) $(LIBDDESND) $(LIBDDENET) $(LIBDDEINPUT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -linih -lpci $(DDEKIT_LIBS) $$(pkg-config --libs gnutls)

$(O)/drivers/selftest: $(call obj,drivers/selftest/selftest.c) $(LIBTESTDEV) $(DDEKIT_TRAP) $(LIBDDEKIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TRAP_LIBS) $(DDEKIT_LIBS)

$(O)/tests/vfio/%: $(call obj,tests/vfio/%.c) $(LIBTESTDEV) $(DDEKIT_TRAP) $(LIBDDEKIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TRAP_LIBS) $(DDEKIT_LIBS)

$(O)/share/dde/firmware.bin: $(O)/tools/mkfirmware
	@mkdir -p $(dir $@)
	$< $@

$(O)/tools/mkfirmware: $(call obj,tools/mkfirmware.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/unit/%: $(call obj,tests/unit/%.c) $(LIBDDEKIT) $(LIBPLATFORM) $(LIBKO) $(LIBEFI)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -linih $(DDEKIT_LIBS)

# sndd's broker logic against a driver end in the test; it runs sndd and
# the ALSA plugin from the build
$(O)/tests/unit/test_sndd: $(call obj,tests/unit/test_sndd.c) $(LIBDDESND) | $(O)/bin/sndd $(ALSA_CONF)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lcmocka

# a stand-in for Linux's /dev/uinput, preloaded into inputd by test_inputd
# (hosts without uinput); never with sanitizers, as the ALSA plugin
UINPUT_STANDIN := $(O)/tests/unit/uinput_standin.so
$(UINPUT_STANDIN): $(call pic,tests/unit/uinput_standin.c)
	@mkdir -p $(dir $@)
	$(CC) -shared -pthread -Wl,-z,defs -o $@ $^ -ldl

# inputd against a driver end and clients in the test (libddeinput); it
# runs inputd from the build, also with the uinput stand-in
$(O)/tests/unit/test_inputd: $(call obj,tests/unit/test_inputd.c) $(LIBDDEINPUT) | $(O)/bin/inputd $(UINPUT_STANDIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lcmocka

# netd's counters and its query against a driver and clients in the test
# (libddenet's both sides); it runs netd from the build
$(O)/tests/unit/test_netd_stats: $(call obj,tests/unit/test_netd_stats.c) $(LIBDDENET) | $(O)/bin/netd
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lcmocka

$(O)/tests/integration/%: $(call obj,tests/integration/%.c tests/integration/harness.c) $(LIBTESTDEV) $(DDEKIT_TRAP) $(LIBDDEKIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(TRAP_LIBS) $(DDEKIT_LIBS)

$(O)/tests/input/%: $(call obj,tests/input/%.c) $(LIBDDEINPUT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/net/%: $(call obj,tests/net/%.c) $(LIBDDENET)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/sound/%: $(call obj,tests/sound/%.c) $(LIBDDESND)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/block/%: $(call obj,tests/block/%.c) $(LIBDDEBLK)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# the fault campaign's verifying NBD client (libnbd)
$(O)/tests/faults/%: $(call obj,tests/faults/%.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libnbd 2>/dev/null || echo -lnbd)

# a driver that tries to leave its sandbox (tests/cli/test_sandbox.sh)
$(O)/tests/sandbox/%: $(call obj,tests/sandbox/%.c) $(LIBDDEKIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DDEKIT_LIBS)

$(O)/tests/san/%: $(call obj,tests/san/%.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(BENCH): $(call obj,tests/bench/platform_bench.c tests/integration/harness.c) $(LIBTESTDEV) $(DDEKIT_TRAP) $(LIBDDEKIT) $(LIBPLATFORM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -linih $(TRAP_LIBS) $(DDEKIT_LIBS)

$(CEILING_NET): $(call obj,tests/bench/ceiling_net.c tests/integration/harness.c) $(LIBTESTDEV) $(DDEKIT_TRAP) $(LIBDDEKIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TRAP_LIBS) $(DDEKIT_LIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) ./tools/demo

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=address,undefined O=$(SAN_O) all
	@O=$(O) SAN_O=$(SAN_O) ./tests/run

test: check

# the vfio backend, in a QEMU guest with an IOMMU (slow: not part of check)
check-vfio: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) LX_DIR=$(LX_DIR) ./tests/vfio/run.sh

# Fuzzing the module reader and loader and the PE32+ reader and loader
# with libFuzzer (clang), under ASan and UBSan; tests/fuzz/run says what
# they use and splits FUZZ_SECONDS between them. make check runs it briefly.
FUZZ_SECONDS ?= 300
FUZZ_CC := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude
$(O)/fuzz/fuzz_ko: tests/fuzz/fuzz_ko.c $(KO_SRC) $(wildcard include/ko/*.h ko/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ tests/fuzz/fuzz_ko.c $(KO_SRC)

$(O)/fuzz/fuzz_pe: tests/fuzz/fuzz_pe.c $(EFI_SRC) $(wildcard include/efi/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ tests/fuzz/fuzz_pe.c $(EFI_SRC)

$(O)/fuzz/seed.ko: tests/fuzz/seed_module.c
	@mkdir -p $(dir $@)
	$(CC) -c -O2 -mcmodel=kernel -fno-pic -fno-asynchronous-unwind-tables \
		-pg -mfentry -mrecord-mcount -o $@ $<

fuzz: deps $(O)/fuzz/fuzz_ko $(O)/fuzz/fuzz_pe $(O)/fuzz/seed.ko $(KO_READY)
	./tests/fuzz/run $(O)/fuzz $(FUZZ_SECONDS) $(KO_DIR) $(EFI_DIR)

bench: deps
	@./tools/install-deps $(BENCH_PKGS)
	@$(MAKE) --no-print-directory all
	@O=$(O) $(BENCH) >$(O)/bench-platform.txt; st=$$?; cat $(O)/bench-platform.txt; exit $$st
	@O=$(O) $(CEILING_NET) >$(O)/bench-ceiling.txt; st=$$?; cat $(O)/bench-ceiling.txt; exit $$st
	@O=$(O) ./tests/bench/net_bench.sh
	@O=$(O) ./tests/bench/block_bench.sh
	@O=$(O) ./tests/bench/sweep_bench.sh
	@O=$(O) ./tests/bench/sound_bench.sh
	@O=$(O) ./tests/bench/sandbox_bench.sh
	@O=$(O) ./tests/bench/drivers_bench.sh
	@O=$(O) ./tests/bench/hotplug_bench.sh
	@O=$(O) ./tests/bench/usb_bench.sh
	@O=$(O) ./tests/bench/iommu_bench.sh
	@echo; echo "vfio, in a QEMU guest (tests/vfio/run.sh): an MMIO read of the e1000's STATUS by a driver"
	@O=$(O) LX_DIR=$(LX_DIR) ./tests/vfio/run.sh | sed -n 's/^figure: /  /p'

# the fault campaign at scale (make check runs 100 faults in test_faults.sh)
FAULTS ?= 10000
FAULT_BATCH ?= 100
faults: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) ./tests/faults/campaign.sh $(FAULTS) $(FAULT_BATCH)

# a SANITIZE build links $(SAN_OBJ) into every program (in $^)
$(filter-out %.a %.bin %.so %.conf,$(BINS)) $(UNIT_TESTS) $(INTEG_TESTS) $(BENCH) $(CEILING_NET) $(NET_TESTS) $(INPUT_TESTS) $(BLOCK_TESTS) $(FAULT_TESTS) $(SOUND_TESTS) $(SAN_TESTS) $(SANDBOX_TESTS) \
	$(O)/tools/mkfirmware: $(SAN_OBJ)

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, drivers and
# data under PREFIX/lib/dde (they find each other there as in build/), and
# PREFIX/bin/dde. Debian's modules stay in the cache (share/dde/ko-dir).
PREFIX ?= /usr/local
install: all
	@test -n "$(PREFIX)" || { echo "make install: PREFIX is empty" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/dde/bin \
		$(DESTDIR)$(PREFIX)/lib/dde/drivers $(DESTDIR)$(PREFIX)/lib/dde/share/dde
	install -m 755 $(O)/bin/* $(DESTDIR)$(PREFIX)/lib/dde/bin/
	install -m 755 $(filter-out %.class %.aliases,$(wildcard $(O)/drivers/*)) \
		$(DESTDIR)$(PREFIX)/lib/dde/drivers/
	install -m 644 $(wildcard $(O)/drivers/*.class) $(DESTDIR)$(PREFIX)/lib/dde/drivers/
	install -m 644 $(O)/share/dde/* $(DESTDIR)$(PREFIX)/lib/dde/share/dde/
	ln -sf ../lib/dde/bin/dde $(DESTDIR)$(PREFIX)/bin/dde
	install -d $(DESTDIR)$(PREFIX)/lib/dde/alsa $(DESTDIR)/etc/alsa/conf.d
	install -m 644 $(ALSA_PLUGIN) $(ALSA_CTL_PLUGIN) $(DESTDIR)$(PREFIX)/lib/dde/alsa/
	$(call alsa_conf,$(PREFIX)/lib/dde/alsa/$(notdir $(ALSA_PLUGIN)),$\
		$(PREFIX)/lib/dde/alsa/$(notdir $(ALSA_CTL_PLUGIN))) \
		>$(DESTDIR)/etc/alsa/conf.d/60-dde.conf

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/dde $(DESTDIR)$(PREFIX)/bin/dde
	rm -f $(DESTDIR)/etc/alsa/conf.d/60-dde.conf

clean:
	rm -rf build build-san build-debug

-include $(shell find $(O)/obj $(O)/pic -name '*.d' 2>/dev/null)
