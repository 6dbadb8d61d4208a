/*
 * Machine options and the --config file (INI, read with inih).
 * Every user mistake gets one line that names the option and the fix.
 */
#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char machine_options_help[] =
"Machine options (the same for every subcommand):\n"
"  --machine q35|pc           chipset (default q35)\n"
"  --accel auto|tcg|kvm       CPU accelerator (default: kvm if /dev/kvm is usable)\n"
"  --disk nvme:FILE           a raw disk image on an NVMe controller\n"
"  --disk ahci:FILE           ... on AHCI (q35: the built-in controller at 00:1f.2)\n"
"  --disk ide:FILE            ... on the PIIX IDE controller (--machine pc only)\n"
"                             FILE,blkdebug=CONF: the image behind QEMU's blkdebug,\n"
"                             which injects the I/O errors CONF names\n"
"  --nic MODEL[,mac=MAC][,net=user|udp:LOCALPORT:REMOTEPORT|none][,revision=N]\n"
"                             MODEL is e1000, rtl8139 or ne2k_pci; net=user is\n"
"                             QEMU's NAT with DHCP (default); udp: QEMU sends every\n"
"                             frame to 127.0.0.1:REMOTEPORT and receives frames sent\n"
"                             to 127.0.0.1:LOCALPORT; revision: the PCI revision\n"
"                             ddeio shows drivers (e.g. rtl8139,revision=0x10: QEMU's\n"
"                             8139C+ as a plain 8139, which 8139too takes)\n"
"  --sound MODEL[,wav=FILE]   MODEL is es1370, ac97 or hda; wav= captures the output\n"
"  --dma-mib N                DMA memory per driver in MiB (default 64)\n"
"  --dma-slots N              drivers that can run at once (default 8)\n"
"  --monitor PATH             QEMU's monitor on Unix socket PATH (e.g. for\n"
"                             `set_link net0 off`: NIC i's netdev is net<i>)\n"
"  --config FILE              read the same options from an INI file:\n"
"                               [machine]\n"
"                               machine = q35\n"
"                               disk = nvme:disk.img     (keys may repeat)\n"
"                               nic = e1000,net=user\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void machine_config_init(struct machine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = MACHINE_Q35;
	cfg->accel = ACCEL_AUTO;
	cfg->dma_slots = 8;
	cfg->dma_mib = 64;
}

const char *machine_type_name(enum machine_type t)
{
	return t == MACHINE_PC ? "pc" : "q35";
}

static int parse_port(const char *s, char **end, uint16_t *port)
{
	unsigned long v;

	errno = 0;
	v = strtoul(s, end, 10);
	if (errno || *end == s || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int valid_mac(const char *s)
{
	unsigned b[6];
	char tail;

	return strlen(s) == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
		      &b[3], &b[4], &b[5], &tail) == 6;
}

static int set_disk(struct machine_config *cfg, const char *value, char *err,
		    size_t errlen)
{
	const char *colon = strchr(value, ':');
	struct machine_disk *d;
	size_t kind_len;

	if (cfg->ndisks == MACHINE_MAX_DISKS)
		return fail(err, errlen, "--disk: at most %d disks", MACHINE_MAX_DISKS);
	if (!colon || !colon[1])
		return fail(err, errlen,
			    "--disk '%s': expected nvme:FILE, ahci:FILE or ide:FILE", value);
	d = &cfg->disk[cfg->ndisks];
	kind_len = (size_t)(colon - value);
	if (kind_len == 4 && !strncmp(value, "nvme", 4))
		d->bus = DISK_NVME;
	else if (kind_len == 4 && !strncmp(value, "ahci", 4))
		d->bus = DISK_AHCI;
	else if (kind_len == 3 && !strncmp(value, "ide", 3))
		d->bus = DISK_IDE;
	else
		return fail(err, errlen,
			    "--disk '%s': unknown controller '%.*s' (use nvme, ahci or ide)",
			    value, (int)kind_len, value);
	const char *opt = strchr(colon + 1, ',');
	size_t flen = opt ? (size_t)(opt - colon - 1) : strlen(colon + 1);

	if (flen >= sizeof(d->file))
		return fail(err, errlen, "--disk: file name too long");
	memcpy(d->file, colon + 1, flen);
	d->file[flen] = 0;
	d->blkdebug[0] = 0;
	if (opt) {
		/* the one option: QEMU's blkdebug between the device and the image */
		if (strncmp(opt, ",blkdebug=", 10) || !opt[10])
			return fail(err, errlen,
				    "--disk '%s': after the file only ',blkdebug=CONFIG' may follow "
				    "(file names with ',' are not supported)", value);
		if (strlen(opt + 10) >= sizeof(d->blkdebug) || strchr(opt + 10, ','))
			return fail(err, errlen, "--disk '%s': blkdebug config name too long or with ','",
				    value);
		strcpy(d->blkdebug, opt + 10);
		if (access(d->blkdebug, R_OK))
			return fail(err, errlen, "blkdebug config '%s': %s", d->blkdebug,
				    strerror(errno));
	}
	/* QEMU opens it read-write: find out now, and say so in one line */
	int fd = open(d->file, O_RDWR | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return fail(err, errlen, "disk image '%s': %s", d->file, strerror(errno));
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		close(fd);
		return fail(err, errlen, "disk image '%s': not a regular file or block device",
			    d->file);
	}
	close(fd);
	cfg->ndisks++;
	return 0;
}

static int set_nic(struct machine_config *cfg, const char *value, char *err,
		   size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	struct machine_nic *n;

	if (cfg->nnics == MACHINE_MAX_NICS)
		return fail(err, errlen, "--nic: at most %d NICs", MACHINE_MAX_NICS);
	if (strlen(value) >= sizeof(buf))
		return fail(err, errlen, "--nic: value too long");
	strcpy(buf, value);
	n = &cfg->nic[cfg->nnics];
	memset(n, 0, sizeof(*n));
	tok = strtok_r(buf, ",", &save);
	if (!tok)
		return fail(err, errlen, "--nic: missing model (e1000, rtl8139, ne2k_pci)");
	if (!strcmp(tok, "e1000"))
		n->model = NIC_E1000;
	else if (!strcmp(tok, "rtl8139"))
		n->model = NIC_RTL8139;
	else if (!strcmp(tok, "ne2k_pci"))
		n->model = NIC_NE2K_PCI;
	else
		return fail(err, errlen,
			    "--nic: unknown model '%s' (use e1000, rtl8139 or ne2k_pci)", tok);
	n->net = NET_USER;
	n->revision = -1;
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strncmp(tok, "mac=", 4)) {
			if (!valid_mac(tok + 4))
				return fail(err, errlen,
					    "--nic: bad MAC '%s' (want xx:xx:xx:xx:xx:xx)", tok + 4);
			strcpy(n->mac, tok + 4);
		} else if (!strcmp(tok, "net=user")) {
			n->net = NET_USER;
		} else if (!strcmp(tok, "net=none")) {
			n->net = NET_NONE;
		} else if (!strncmp(tok, "net=udp:", 8)) {
			char *end;

			if (parse_port(tok + 8, &end, &n->local_port) || *end != ':' ||
			    parse_port(end + 1, &end, &n->remote_port) || *end)
				return fail(err, errlen,
					    "--nic: bad '%s' (want net=udp:LOCALPORT:REMOTEPORT)", tok);
			n->net = NET_UDP;
		} else if (!strncmp(tok, "revision=", 9)) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(tok + 9, &end, 0);
			if (errno || end == tok + 9 || *end || v > 0xff)
				return fail(err, errlen,
					    "--nic: bad '%s' (want revision=N, 0 to 0xff)", tok);
			n->revision = (int)v;
		} else {
			return fail(err, errlen,
				    "--nic: unknown setting '%s' (use mac=, net=, revision=)", tok);
		}
	}
	cfg->nnics++;
	return 0;
}

static int set_sound(struct machine_config *cfg, const char *value, char *err,
		     size_t errlen)
{
	struct machine_sound *s;
	const char *comma = strchr(value, ',');
	size_t len = comma ? (size_t)(comma - value) : strlen(value);

	if (cfg->nsound == MACHINE_MAX_SOUND)
		return fail(err, errlen, "--sound: at most %d sound cards", MACHINE_MAX_SOUND);
	s = &cfg->sound[cfg->nsound];
	memset(s, 0, sizeof(*s));
	if (len == 6 && !strncmp(value, "es1370", 6))
		s->model = SOUND_ES1370;
	else if (len == 4 && !strncmp(value, "ac97", 4))
		s->model = SOUND_AC97;
	else if (len == 3 && !strncmp(value, "hda", 3))
		s->model = SOUND_HDA;
	else
		return fail(err, errlen,
			    "--sound: unknown model '%.*s' (use es1370, ac97 or hda)",
			    (int)len, value);
	if (comma) {
		if (strncmp(comma + 1, "wav=", 4) || !comma[5] ||
		    strlen(comma + 5) >= sizeof(s->wav) || strchr(comma + 5, ','))
			return fail(err, errlen, "--sound: bad '%s' (want MODEL,wav=FILE)",
				    value);
		strcpy(s->wav, comma + 5);
	}
	cfg->nsound++;
	return 0;
}

static int set_number(const char *name, const char *value, unsigned min,
		      unsigned max, unsigned *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return fail(err, errlen, "--%s: '%s' is not a number from %u to %u",
			    name, value, min, max);
	*out = (unsigned)v;
	return 0;
}

struct ini_ctx {
	struct machine_config *cfg;
	char *err;
	size_t errlen;
	FILE *f;
	int line;		/* lines read so far */
	int failed;		/* line of the first rejected setting, or 0 */
};

/*
 * inih line reader. Debian's inih passes the handler no line number, so
 * count lines here: the handler runs for the line read last.
 */
static char *config_read(char *str, int num, void *user)
{
	struct ini_ctx *ctx = user;
	char *r = fgets(str, num, ctx->f);

	if (r)
		ctx->line++;
	return r;
}

/* inih callback: apply one setting; the first error is kept. */
static int config_line(void *user, const char *section, const char *name,
		       const char *value)
{
	struct ini_ctx *ctx = user;

	if (ctx->failed)
		return 1;	/* keep the first error only */
	if (strcmp(section, "machine"))
		fail(ctx->err, ctx->errlen, "unknown section [%s] (use [machine])", section);
	else if (!strcmp(name, "config"))
		fail(ctx->err, ctx->errlen, "'config' cannot be nested");
	else if (!machine_config_set(ctx->cfg, name, value, ctx->err, ctx->errlen))
		return 1;
	ctx->failed = ctx->line;
	return 0;
}

static int read_config(struct machine_config *cfg, const char *path, char *err,
		       size_t errlen)
{
	char inner[512];
	struct ini_ctx ctx = { cfg, inner, sizeof(inner), fopen(path, "r"), 0, 0 };
	int rc;

	if (!ctx.f)
		return fail(err, errlen, "config file '%s': %s", path, strerror(errno));
	/* The reader gets &ctx as its stream; inih passes it on unchanged. */
	rc = ini_parse_stream(config_read, &ctx, config_line, &ctx);
	fclose(ctx.f);
	/* rc is the first bad line, a syntax error or a rejected setting. */
	if (ctx.failed && (rc <= 0 || ctx.failed <= rc))
		return fail(err, errlen, "%s:%d: %s", path, ctx.failed, inner);
	if (rc)
		return fail(err, errlen, "%s:%d: syntax error (want KEY = VALUE under [machine])",
			    path, rc);
	return 0;
}

int machine_config_set(struct machine_config *cfg, const char *name,
		       const char *value, char *err, size_t errlen)
{
	if (!value)
		return fail(err, errlen, "--%s needs a value", name);
	if (!strcmp(name, "machine")) {
		if (!strcmp(value, "q35"))
			cfg->type = MACHINE_Q35;
		else if (!strcmp(value, "pc"))
			cfg->type = MACHINE_PC;
		else
			return fail(err, errlen, "--machine: unknown '%s' (use q35 or pc)", value);
		return 0;
	}
	if (!strcmp(name, "accel")) {
		if (!strcmp(value, "auto"))
			cfg->accel = ACCEL_AUTO;
		else if (!strcmp(value, "tcg"))
			cfg->accel = ACCEL_TCG;
		else if (!strcmp(value, "kvm"))
			cfg->accel = ACCEL_KVM;
		else
			return fail(err, errlen, "--accel: unknown '%s' (use auto, tcg or kvm)",
				    value);
		return 0;
	}
	if (!strcmp(name, "disk"))
		return set_disk(cfg, value, err, errlen);
	if (!strcmp(name, "nic"))
		return set_nic(cfg, value, err, errlen);
	if (!strcmp(name, "sound"))
		return set_sound(cfg, value, err, errlen);
	if (!strcmp(name, "dma-mib"))
		return set_number(name, value, 1, 1024, &cfg->dma_mib, err, errlen);
	if (!strcmp(name, "dma-slots"))
		return set_number(name, value, 1, 16, &cfg->dma_slots, err, errlen);
	if (!strcmp(name, "config"))
		return read_config(cfg, value, err, errlen);
	if (!strcmp(name, "monitor")) {
		if (strlen(value) >= sizeof(cfg->monitor) || strchr(value, ','))
			return fail(err, errlen, "--monitor: '%s': too long or has a comma", value);
		snprintf(cfg->monitor, sizeof(cfg->monitor), "%s", value);
		return 0;
	}
	return fail(err, errlen, "unknown machine option '%s'", name);
}

int machine_config_check(const struct machine_config *cfg, char *err,
			 size_t errlen)
{
	unsigned i;

	for (i = 0; i < cfg->ndisks; i++)
		if (cfg->disk[i].bus == DISK_IDE && cfg->type != MACHINE_PC)
			return fail(err, errlen,
				    "--disk ide:%s: the PIIX IDE exists only on --machine pc (use ahci: on q35)",
				    cfg->disk[i].file);
	if ((uint64_t)cfg->dma_slots * cfg->dma_mib > 2048)
		return fail(err, errlen,
			    "DMA memory %u x %u MiB is over 2 GiB: it must fit below the PCI hole",
			    cfg->dma_slots, cfg->dma_mib);
	return 0;
}
