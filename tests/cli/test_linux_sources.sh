#!/bin/bash
# The Linux files dde_linux compiles are Debian's, unmodified: each one in
# the extracted tree equals the one in the pristine linux-source tarball,
# and every object was compiled from that tree.
. "$(dirname "$0")/lib.sh"

lx=$(make -s --no-print-directory lx-files O="$O")
dir=$(sed -n 's/^dir //p' <<<"$lx")
mapfile -t files < <(sed -n 's/^file //p' <<<"$lx")
pin_version=$(sed -n 's/^LINUX_DEB_VERSION=//p' dde_linux/linux.pin)

if [ -f "$dir/.complete" ] && [ ${#files[@]} -gt 0 ]; then
	ok "the pinned Linux ($pin_version) is fetched: ${#files[@]} files compiled"
else
	not_ok "the pinned Linux is fetched" "no $dir/.complete or no files"
	finish
fi
case $dir in
"$PWD"/*) not_ok "the Linux tree is outside the tracked tree" "$dir" ;;
*) ok "the Linux tree is outside the tracked tree ($dir)" ;;
esac

mkdir -p "$T/pristine"
paths=()
for f in "${files[@]}"; do paths+=("linux-source-6.1/$f"); done
if tar -xJf "$dir/linux-source-6.1.tar.xz" -C "$T/pristine" "${paths[@]}"; then
	bad=""
	for f in "${files[@]}"; do
		cmp -s "$T/pristine/linux-source-6.1/$f" "$dir/src/$f" || bad="$bad $f"
	done
	if [ -z "$bad" ]; then
		ok "all ${#files[@]} compiled Linux files equal the tarball's"
	else
		not_ok "compiled Linux files equal the tarball's" "differ:$bad"
	fi
else
	not_ok "the compiled Linux files are in the tarball"
fi

bad=""
for f in "${files[@]}"; do
	d="$O/linux/${f%.*}.d"
	head -2 "$d" 2>/dev/null | grep -qF "$dir/src/$f" || bad="$bad $f"
done
if [ -z "$bad" ]; then
	ok "every Linux object was compiled from the extracted tree"
else
	not_ok "every Linux object was compiled from the extracted tree" "not:$bad"
fi

# Every Linux driver is built, with its generated stubs (what it still
# lacks: each stops loudly when called; none at all is the goal), and its
# PCI ids are in the driver index exactly as Debian's module of the same
# name has them (tools/mkindex reads the compiled table as modpost does).
IX="$O/share/dde/drivers.index"
for r in drivers/*/linux.recipe; do
	d=$(basename "$(dirname "$r")")
	# the module whose PCI table it is: the recipe's `ko` line (a USB host's
	# table is its PCI glue's: xhci-pci), else its module; '-' is '_'
	mod=$(sed -n 's/^ko[[:space:]]\+//p' "$r")
	[ -n "$mod" ] || mod=$(sed -n 's/^module[[:space:]]\+//p' "$r")
	if [ -x "$O/drivers/$d" ] && [ -f "$O/stubs/$d-stubs.c" ]; then
		ok "$d is built; $(grep -c '^	{ "' "$O/stubs/$d-stubs.c") symbols are generated stubs"
	else
		not_ok "$d is built with its generated stubs file"
	fi
	src=$(awk -v d="$d" '$1 == "src" && $2 == d { print $4 }' "$IX" | sort)
	ids=$(sed -n 's/^pci[[:space:]]\+//p' "$r")
	if [ -n "$ids" ]; then
		# the recipe names its devices (its Linux tables claim more)
		want=$(for i in $ids; do v=${i%:*} d2=${i#*:}
			printf 'pci:v0000%sd0000%ssv*sd*bc*sc*i*\n' "${v^^}" "${d2^^}"; done | sort)
		[ "$src" = "$want" ] && ok "$d: the index has the $(echo "$ids" | wc -w) PCI ids its recipe names" ||
			not_ok "$d: the index has its recipe's PCI ids" "index: $(echo $src) / recipe: $ids"
		continue
	fi
	bin=$(awk -v d="${mod//-/_}" '$1 == "ko" { n = $2; gsub("-", "_", n) } $1 == "ko" && n == d { print $4 }' "$IX" | sort)
	if [ -n "$src" ] && [ "$src" = "$bin" ]; then
		ok "$d: its $(echo "$src" | wc -l) PCI ids in the index match Debian's $mod.ko aliases"
	else
		not_ok "$d: its PCI ids in the index match Debian's $mod.ko" \
			"source: $(echo $src | head -c 200) / module: $(echo $bin | head -c 200)"
	fi
done
finish
