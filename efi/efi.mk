# UEFI drivers (issue 22): Debian's firmware packages pinned in efi/efi.pin,
# fetched and taken apart by tools/fetch-efi into $(DDE_CACHE), outside the
# tracked tree. The drivers are binaries of another OS (and, for AAVMF's,
# another ISA); nothing of them is in the repo.
EDK2_DEB_VERSION := $(shell sed -n 's/^EDK2_DEB_VERSION=//p' efi/efi.pin)
EFI_DIR   := $(DDE_CACHE)/efi-$(EDK2_DEB_VERSION)
EFI_READY := $(EFI_DIR)/.ready

$(EFI_READY): efi/efi.pin tools/fetch-efi
	./tools/fetch-efi $(DDE_CACHE)

# where the drivers are, for dde and the tests (as share/dde/ko-dir)
$(O)/share/dde/efi-dir: $(EFI_READY)
	@mkdir -p $(dir $@)
	echo $(EFI_DIR) >$@

# the driver host: UEFI's boot services, PCI I/O on ddekit, the block and network glue
# (EFI_SRC, the PE32+ reader, is the Makefile's: dde links it too)
EFI_HOST_SRC := efi/host.c efi/boot.c efi/devpath.c efi/pciio.c efi/blk.c efi/net.c efi/dbt.c
# (the trap engine too: ddekit's BAR accessors work on mapped BARs, and
# iPXE's code loads and stores at its BARs' bus addresses; edk2's never
# touches one, every access is a PCI I/O call; libddenet: efi-net's netd)
$(O)/drivers/efi-blk: $(call obj,$(EFI_HOST_SRC) $(EFI_SRC)) $(DDEKIT_TRAP) $(LIBDDEKIT) $(LIBDDEBLK) $(LIBDDENET) $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(TRAP_LIBS) $(DDEKIT_LIBS) -lunicorn
	echo block >$@.class
# the same program: its name picks the class glue
$(O)/drivers/efi-net: $(O)/drivers/efi-blk
	cp $< $@
	echo net >$@.class

EFI_BINS := $(EFI_READY) $(O)/share/dde/efi-dir $(O)/drivers/efi-blk $(O)/drivers/efi-net

.PHONY: efi-dir
efi-dir:
	@echo $(EFI_DIR)
