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

EFI_BINS := $(EFI_READY) $(O)/share/dde/efi-dir

.PHONY: efi-dir
efi-dir:
	@echo $(EFI_DIR)
