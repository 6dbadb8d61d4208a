/*
 * Machine options and the --config file (INI, read with inih).
 * Every user mistake gets one line that names the option and the fix.
 */
#define _GNU_SOURCE
#include "machine.h"
#include "errtext.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <ini.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char machine_options_help[] =
"Machine options (the same for every subcommand):\n"
"  --machine q35|pc           chipset (default q35)\n"
"  --accel auto|tcg|kvm       CPU accelerator (default: kvm if /dev/kvm is usable)\n"
"  --device MODEL[,PROP=V...]  any PCI device of `qemu-system-x86_64 -device help`\n"
"                             (e1000e, pcnet, vmxnet3, virtio-net-pci, virtio-blk-pci,\n"
"                             i82559er, ich9-intel-hda, qemu-xhci ...); its backend:\n"
"                             disk=FILE (a disk controller), net=... mac=... (a NIC,\n"
"                             as --nic), wav=FILE (a sound card); other PROP=V go to\n"
"                             QEMU. `dde drivers --models` lists the known models\n"
"  --disk KIND:FILE           a raw disk image: KIND nvme, ahci (q35: the chipset's\n"
"                             own at 00:1f.2), ide (--machine pc), virtio-blk, or\n"
"                             any disk model; FILE,blkdebug=CONF: the image behind\n"
"                             QEMU's blkdebug, which injects the I/O errors CONF names\n"
"  --nic MODEL[,mac=MAC][,net=user|udp:LOCALPORT:REMOTEPORT|none][,revision=N]\n"
"                             MODEL e1000, e1000e, rtl8139, ne2k_pci, pcnet, vmxnet3,\n"
"                             virtio-net ... (any NIC model); net=user is QEMU's NAT\n"
"                             with DHCP (default); udp: QEMU sends every frame to\n"
"                             127.0.0.1:REMOTEPORT and receives frames sent to\n"
"                             127.0.0.1:LOCALPORT; revision: the PCI revision ddeio\n"
"                             shows drivers (e.g. rtl8139,revision=0x10: QEMU's\n"
"                             8139C+ as a plain 8139, which 8139too takes)\n"
"  --sound MODEL[,wav=FILE]   MODEL es1370, ac97, hda or ich9-intel-hda; wav=\n"
"                             captures the output\n"
"  --usb xhci|ehci|uhci|ohci  a USB host controller (QEMU's qemu-xhci, ich9-usb-ehci1,\n"
"                             piix3-usb-uhci, pci-ohci); its bus is usbK.0, K = 0..\n"
"                             in order\n"
"  --usb-device MODEL[:FILE][,usb=K]\n"
"                             a USB device on controller K (default 0): usb-kbd,\n"
"                             usb-mouse, usb-tablet, or usb-storage:FILE (a raw image)\n"
"  --dma-mib N                DMA memory per driver in MiB (default 64)\n"
"  --dma-slots N              drivers that can run at once (default 8)\n"
"  --iommu on|off             QEMU's Intel IOMMU (q35; default on): each device\n"
"                             can DMA only into its driver's DMA region; off:\n"
"                             anywhere in the machine\n"
"  --msi on|off               message-signalled interrupts (default on): MSI and\n"
"                             MSI-X reach drivers as eventfds; off: INTx only\n"
"  --vfio 0000:BB:SS.F        the machine is this host: its PCI device BB:SS.F,\n"
"                             bound to vfio-pci (repeatable; no QEMU is started)\n"
"  --hotplug-ports N          q35: N (1-8) hot-plug capable PCIe root ports,\n"
"                             hp0.. at 00:10.0.. (their buses 1..N); devices come\n"
"                             and go on them (dde hotplug), or sit there from the\n"
"                             start (--nic e1000,bus=hp0)\n"
"  --monitor PATH             QEMU's monitor on Unix socket PATH (e.g. for\n"
"                             `set_link net0 off`: NIC i's netdev is net<i>)\n"
"  --qmp PATH                 QEMU's QMP monitor on Unix socket PATH (e.g. for\n"
"                             input-send-event to a USB keyboard's id usbdevN)\n"
"  --config FILE              read the same options from an INI file:\n"
"                               [machine]\n"
"                               machine = q35\n"
"                               disk = nvme:disk.img     (keys may repeat)\n"
"                               nic = e1000,net=user\n";

void machine_config_init(struct machine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = MACHINE_Q35;
	cfg->accel = ACCEL_AUTO;
	cfg->dma_slots = 8;
	cfg->dma_mib = 64;
}

bool machine_iommu_on(const struct machine_config *cfg)
{
	return cfg->type == MACHINE_Q35 && cfg->iommu != IOMMU_OFF;
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

/* --- devices --------------------------------------------------------------- */

/* What `qemu-system-x86_64 -device help` lists, read once; "" if it cannot run. */
static const char *qemu_device_list(void)
{
	static char *list;
	static size_t len;
	const char *qemu = getenv("DDE_QEMU");
	char *argv[] = { (char *)(qemu && *qemu ? qemu : "qemu-system-x86_64"), "-device", "help",
			 NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (list)
		return list;
	list = calloc(1, 1);
	if (!list || pipe2(fds, O_CLOEXEC))
		return "";
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (pid > 0 && (n = read(fds[0], buf, sizeof(buf))) > 0) {
		char *bigger = realloc(list, len + (size_t)n + 1);

		if (!bigger)
			break;
		list = bigger;
		memcpy(list + len, buf, (size_t)n);
		len += (size_t)n;
		list[len] = 0;
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return list;
}

/* QEMU has NAME, a device on the PCI bus */
static bool qemu_has_pci_device(const char *name)
{
	char want[64];
	const char *hit;

	snprintf(want, sizeof(want), "name \"%s\", bus PCI", name);
	hit = strstr(qemu_device_list(), want);
	return hit && (hit[strlen(want)] == ',' || hit[strlen(want)] == '\n');
}

static bool valid_device_name(const char *s, size_t len)
{
	if (!len || len >= sizeof(((struct machine_dev *)0)->name))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* what --device's settings set, before they land in the configuration */
struct settings {
	char file[512], blkdebug[512], mac[18], wav[512], props[256];
	bool has_file, has_blkdebug, has_net, has_mac, has_revision, has_wav, has_mix, mix;
	enum nic_net net;
	uint16_t local_port, remote_port;
	int revision;
};

static int set_net(struct settings *st, const char *opt, const char *tok, char *err, size_t errlen)
{
	st->has_net = true;
	if (!strcmp(tok, "net=user")) {
		st->net = NET_USER;
	} else if (!strcmp(tok, "net=none")) {
		st->net = NET_NONE;
	} else if (!strncmp(tok, "net=udp:", 8)) {
		char *end;

		if (parse_port(tok + 8, &end, &st->local_port) || *end != ':' ||
		    parse_port(end + 1, &end, &st->remote_port) || *end)
			return errtext(err, errlen, "%s: bad '%s' (want net=udp:LOCALPORT:REMOTEPORT)",
				    opt, tok);
		st->net = NET_UDP;
	} else {
		return errtext(err, errlen, "%s: unknown setting '%s' (use net=user, net=none or "
			    "net=udp:LOCALPORT:REMOTEPORT)", opt, tok);
	}
	return 0;
}

/* One K=V of a device; other properties go to QEMU with --device only. */
static int one_setting(struct settings *st, const char *opt, bool pass_props, const char *tok,
		       char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	size_t vlen = eq ? strlen(eq + 1) : 0;

	if (!eq || eq == tok)
		return errtext(err, errlen, "%s: bad setting '%s' (want KEY=VALUE; file names with ',' "
			    "are not supported)", opt, tok);
	if (!strncmp(tok, "disk=", 5) || !strncmp(tok, "blkdebug=", 9)) {
		bool disk = tok[0] == 'd';
		char *out = disk ? st->file : st->blkdebug;

		if (!vlen || vlen >= sizeof(st->file))
			return errtext(err, errlen, "%s: bad '%s' (want %s=FILE)", opt, tok,
				    disk ? "disk" : "blkdebug");
		memcpy(out, eq + 1, vlen + 1);
		*(disk ? &st->has_file : &st->has_blkdebug) = true;
	} else if (!strncmp(tok, "net=", 4)) {
		return set_net(st, opt, tok, err, errlen);
	} else if (!strncmp(tok, "mac=", 4)) {
		if (!valid_mac(eq + 1))
			return errtext(err, errlen, "%s: bad MAC '%s' (want xx:xx:xx:xx:xx:xx)", opt,
				    eq + 1);
		strcpy(st->mac, eq + 1);
		st->has_mac = true;
	} else if (!strncmp(tok, "revision=", 9)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end || v > 0xff)
			return errtext(err, errlen, "%s: bad '%s' (want revision=N, 0 to 0xff)", opt, tok);
		st->revision = (int)v;
		st->has_revision = true;
	} else if (!strncmp(tok, "wav=", 4)) {
		if (!vlen || vlen >= sizeof(st->wav))
			return errtext(err, errlen, "%s: bad '%s' (want wav=FILE)", opt, tok);
		strcpy(st->wav, eq + 1);
		st->has_wav = true;
	} else if (!strncmp(tok, "mix=", 4)) {
		if (strcmp(eq + 1, "on") && strcmp(eq + 1, "off"))
			return errtext(err, errlen, "%s: bad '%s' (want mix=on or mix=off)", opt, tok);
		st->mix = !strcmp(eq + 1, "on");
		st->has_mix = true;
	} else if (pass_props || !strncmp(tok, "bus=", 4)) {
		/* bus=hpK: on hot-plug root port K (--hotplug-ports) from the start */
		size_t len = strlen(st->props);

		if (len + strlen(tok) + 2 > sizeof(st->props))
			return errtext(err, errlen, "%s: too many properties", opt);
		snprintf(st->props + len, sizeof(st->props) - len, "%s%s", len ? "," : "", tok);
	} else {
		return errtext(err, errlen, "%s: unknown setting '%s' (use %s)", opt, tok,
			    !strcmp(opt, "--nic") ? "mac=, net=, revision=, bus=" :
			    !strcmp(opt, "--sound") ? "wav=FILE, mix=on" : "blkdebug=CONFIG");
	}
	return 0;
}

static int check_file(const char *what, const char *file, int mode, char *err, size_t errlen)
{
	/* QEMU opens disks read-write: find out now, and say so in one line */
	int fd = open(file, (mode == W_OK ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return errtext(err, errlen, "%s '%s': %s", what, file, strerror(errno));
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		close(fd);
		return errtext(err, errlen, "%s '%s': not a regular file or block device", what, file);
	}
	close(fd);
	return 0;
}

/*
 * A device: model NAME (QEMU's name or the table's alias) with SETTINGS
 * ("K=V,K=V" or ""), given as OPT. WANT is the class --disk, --nic and
 * --sound stand for; --device (MODEL_OTHER) takes any class and passes
 * properties it does not know to QEMU.
 */
static int add_device(struct machine_config *cfg, const char *opt, enum model_class want,
		      const char *name, size_t namelen, const char *settings, char *err,
		      size_t errlen)
{
	bool any = want == MODEL_OTHER;
	const struct machine_model *model;
	struct settings st = { .revision = -1 };
	enum model_class cls;
	struct machine_dev dev = { 0 };
	char buf[1024], known[160], *save = NULL, *tok;

	if (!namelen)
		return errtext(err, errlen, "%s: missing model", opt);
	if (!valid_device_name(name, namelen))
		return errtext(err, errlen, "%s: bad model name '%.*s'", opt, (int)namelen, name);
	memcpy(dev.name, name, namelen);
	model = machine_model_find(dev.name);
	machine_model_names(any ? MODEL_NET : want, known, sizeof(known));
	if (!model && !qemu_has_pci_device(dev.name))
		return errtext(err, errlen, "%s: unknown model '%s' (known: %s; --device takes any PCI "
			    "device of `qemu-system-x86_64 -device help`)", opt, dev.name, known);
	if (model && !any && model->cls != want)
		return errtext(err, errlen, "%s: '%s' is a %s device (use %s)", opt, dev.name,
			    model_class_name(model->cls), known);
	if (model)
		snprintf(dev.name, sizeof(dev.name), "%s", model->name);
	dev.model = model;
	if (strlen(settings) >= sizeof(buf))
		return errtext(err, errlen, "%s: value too long", opt);
	strcpy(buf, settings);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (one_setting(&st, opt, any, tok, err, errlen))
			return -1;
	cls = model ? model->cls : !any ? want : st.has_file ? MODEL_DISK :
	      st.has_net || st.has_mac || st.has_revision ? MODEL_NET : st.has_wav || st.has_mix ? MODEL_SOUND :
	      MODEL_OTHER;
	snprintf(dev.props, sizeof(dev.props), "%s", st.props);
	if ((st.has_file || st.has_blkdebug) && cls != MODEL_DISK)
		return errtext(err, errlen, "%s: %s is no disk controller: disk= and blkdebug= do not "
			    "apply", opt, dev.name);
	if ((st.has_net || st.has_mac || st.has_revision) && cls != MODEL_NET)
		return errtext(err, errlen, "%s: %s is no network card: net=, mac= and revision= do "
			    "not apply", opt, dev.name);
	if ((st.has_wav || st.has_mix) && cls != MODEL_SOUND)
		return errtext(err, errlen, "%s: %s is no sound card: wav= and mix= do not apply",
			    opt, dev.name);
	if (st.mix && !st.has_wav)
		return errtext(err, errlen, "%s: mix=on is for the wav file: it needs wav=FILE", opt);
	if (st.has_revision && !model)
		return errtext(err, errlen, "%s: revision= needs a model of the table (its PCI id)",
			    opt);
	switch (cls) {
	case MODEL_DISK: {
		struct machine_disk *d;

		if (!st.has_file)
			return errtext(err, errlen, "%s %s: needs disk=FILE (a raw image)", opt, dev.name);
		if (cfg->ndisks == MACHINE_MAX_DISKS)
			return errtext(err, errlen, "%s: at most %d disks", opt, MACHINE_MAX_DISKS);
		if (st.has_blkdebug && check_file("blkdebug config", st.blkdebug, R_OK, err, errlen))
			return -1;
		if (check_file("disk image", st.file, W_OK, err, errlen))
			return -1;
		d = &cfg->disk[cfg->ndisks++];
		d->dev = dev;
		strcpy(d->file, st.file);
		strcpy(d->blkdebug, st.has_blkdebug ? st.blkdebug : "");
		return 0;
	}
	case MODEL_NET: {
		struct machine_nic *n;

		if (cfg->nnics == MACHINE_MAX_NICS)
			return errtext(err, errlen, "%s: at most %d NICs", opt, MACHINE_MAX_NICS);
		n = &cfg->nic[cfg->nnics++];
		memset(n, 0, sizeof(*n));
		n->dev = dev;
		strcpy(n->mac, st.mac);
		n->net = st.has_net ? st.net : NET_USER;
		n->local_port = st.local_port;
		n->remote_port = st.remote_port;
		n->revision = st.revision;
		return 0;
	}
	case MODEL_SOUND: {
		struct machine_sound *s;

		if (cfg->nsound == MACHINE_MAX_SOUND)
			return errtext(err, errlen, "%s: at most %d sound cards", opt, MACHINE_MAX_SOUND);
		s = &cfg->sound[cfg->nsound++];
		s->dev = dev;
		strcpy(s->wav, st.wav);
		s->mix = st.mix;
		return 0;
	}
	case MODEL_USB:
		if (cfg->nusb == MACHINE_MAX_USB)
			return errtext(err, errlen, "%s: at most %d USB host controllers", opt,
				    MACHINE_MAX_USB);
		cfg->usb[cfg->nusb++] = dev;
		return 0;
	default:
		if (cfg->ndevices == MACHINE_MAX_DEVICES)
			return errtext(err, errlen, "%s: at most %d other devices", opt,
				    MACHINE_MAX_DEVICES);
		cfg->device[cfg->ndevices++] = dev;
		return 0;
	}
}

/* --disk KIND:FILE[,blkdebug=CONF]: --device KIND,disk=FILE[,blkdebug=CONF] */
static int set_disk(struct machine_config *cfg, const char *value, char *err, size_t errlen)
{
	const char *colon = strchr(value, ':');
	char settings[1100];

	if (cfg->ndisks == MACHINE_MAX_DISKS)
		return errtext(err, errlen, "--disk: at most %d disks", MACHINE_MAX_DISKS);
	if (!colon || !colon[1])
		return errtext(err, errlen,
			    "--disk '%s': expected KIND:FILE, KIND nvme, ahci, ide or virtio-blk", value);
	if (snprintf(settings, sizeof(settings), "disk=%s", colon + 1) >= (int)sizeof(settings))
		return errtext(err, errlen, "--disk: file name too long");
	return add_device(cfg, "--disk", MODEL_DISK, value, (size_t)(colon - value), settings, err,
			  errlen);
}

/* --nic MODEL[,...] and --sound MODEL[,...] and --device MODEL[,...] */
static int set_model(struct machine_config *cfg, const char *opt, enum model_class want,
		     const char *value, char *err, size_t errlen)
{
	const char *comma = strchr(value, ',');

	if (want == MODEL_NET && cfg->nnics == MACHINE_MAX_NICS)
		return errtext(err, errlen, "--nic: at most %d NICs", MACHINE_MAX_NICS);
	if (want == MODEL_SOUND && cfg->nsound == MACHINE_MAX_SOUND)
		return errtext(err, errlen, "--sound: at most %d sound cards", MACHINE_MAX_SOUND);
	if (comma && comma != value && !comma[1])
		return errtext(err, errlen, "%s '%s': nothing after ','", opt, value);
	return add_device(cfg, opt, want, value, comma ? (size_t)(comma - value) : strlen(value),
			  comma ? comma + 1 : "", err, errlen);
}

const char machine_usb_device_models[] = "usb-kbd, usb-mouse, usb-tablet or usb-storage:FILE";

bool machine_usb_device_known(const char *model)
{
	static const char *const known[] = { "usb-kbd", "usb-mouse", "usb-tablet", "usb-storage" };

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(model, known[i]))
			return true;
	return false;
}

/* --usb-device MODEL[:FILE][,usb=K] */
static int set_usb_device(struct machine_config *cfg, const char *value, char *err,
			  size_t errlen)
{
	struct machine_usb_device d = { 0 };
	const char *comma = strchr(value, ','), *colon = strchr(value, ':');
	size_t n = comma ? (size_t)(comma - value) : strlen(value);

	if (cfg->nusbdev == MACHINE_MAX_USB_DEVICES)
		return errtext(err, errlen, "--usb-device: at most %d USB devices",
			       MACHINE_MAX_USB_DEVICES);
	if (colon && colon < value + n) {
		if (snprintf(d.file, sizeof(d.file), "%.*s", (int)(value + n - colon - 1), colon + 1) >=
		    (int)sizeof(d.file))
			return errtext(err, errlen, "--usb-device: file name too long");
		n = (size_t)(colon - value);
	}
	if (n >= sizeof(d.model))
		return errtext(err, errlen, "--usb-device '%s': unknown model (use %s)", value,
			       machine_usb_device_models);
	memcpy(d.model, value, n);
	if (!machine_usb_device_known(d.model))
		return errtext(err, errlen, "--usb-device: unknown model '%s' (use %s)", d.model,
			       machine_usb_device_models);
	if (!strcmp(d.model, "usb-storage") != !!colon)
		return errtext(err, errlen, colon ? "--usb-device %s: takes no file (only "
			       "usb-storage:FILE does)" : "--usb-device usb-storage: needs :FILE (a "
			       "raw image)", d.model);
	if (colon && check_file("disk image", d.file, W_OK, err, errlen))
		return -1;
	if (comma) {
		char *end;
		unsigned long k;

		if (strncmp(comma + 1, "usb=", 4))
			return errtext(err, errlen, "--usb-device '%s': the one setting is usb=K "
				       "(its host controller)", value);
		errno = 0;
		k = strtoul(comma + 5, &end, 10);
		if (errno || end == comma + 5 || *end || k >= MACHINE_MAX_USB)
			return errtext(err, errlen, "--usb-device '%s': usb=K, K from 0 to %d", value,
				       MACHINE_MAX_USB - 1);
		d.ctrl = (unsigned)k;
	}
	cfg->usbdev[cfg->nusbdev++] = d;
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
		return errtext(err, errlen, "--%s: '%s' is not a number from %u to %u",
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
		errtext(ctx->err, ctx->errlen, "unknown section [%s] (use [machine])", section);
	else if (!strcmp(name, "config"))
		errtext(ctx->err, ctx->errlen, "'config' cannot be nested");
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
		return errtext(err, errlen, "config file '%s': %s", path, strerror(errno));
	/* The reader gets &ctx as its stream; inih passes it on unchanged. */
	rc = ini_parse_stream(config_read, &ctx, config_line, &ctx);
	fclose(ctx.f);
	/* rc is the first bad line, a syntax error or a rejected setting. */
	if (ctx.failed && (rc <= 0 || ctx.failed <= rc))
		return errtext(err, errlen, "%s:%d: %s", path, ctx.failed, inner);
	if (rc)
		return errtext(err, errlen, "%s:%d: syntax error (want KEY = VALUE under [machine])",
			    path, rc);
	return 0;
}

int machine_config_set(struct machine_config *cfg, const char *name,
		       const char *value, char *err, size_t errlen)
{
	if (!value)
		return errtext(err, errlen, "--%s needs a value", name);
	if (!strcmp(name, "machine")) {
		if (!strcmp(value, "q35"))
			cfg->type = MACHINE_Q35;
		else if (!strcmp(value, "pc"))
			cfg->type = MACHINE_PC;
		else
			return errtext(err, errlen, "--machine: unknown '%s' (use q35 or pc)", value);
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
			return errtext(err, errlen, "--accel: unknown '%s' (use auto, tcg or kvm)",
				    value);
		return 0;
	}
	if (!strcmp(name, "disk"))
		return set_disk(cfg, value, err, errlen);
	if (!strcmp(name, "nic"))
		return set_model(cfg, "--nic", MODEL_NET, value, err, errlen);
	if (!strcmp(name, "sound"))
		return set_model(cfg, "--sound", MODEL_SOUND, value, err, errlen);
	if (!strcmp(name, "device"))
		return set_model(cfg, "--device", MODEL_OTHER, value, err, errlen);
	if (!strcmp(name, "usb"))
		return set_model(cfg, "--usb", MODEL_USB, value, err, errlen);
	if (!strcmp(name, "usb-device"))
		return set_usb_device(cfg, value, err, errlen);
	if (!strcmp(name, "dma-mib"))
		return set_number(name, value, 1, 1024, &cfg->dma_mib, err, errlen);
	if (!strcmp(name, "dma-slots"))
		return set_number(name, value, 1, 16, &cfg->dma_slots, err, errlen);
	if (!strcmp(name, "config"))
		return read_config(cfg, value, err, errlen);
	if (!strcmp(name, "iommu")) {
		if (strcmp(value, "on") && strcmp(value, "off"))
			return errtext(err, errlen, "--iommu: '%s': on or off", value);
		cfg->iommu = !strcmp(value, "on") ? IOMMU_ON : IOMMU_OFF;
		return 0;
	}
	if (!strcmp(name, "vfio")) {
		if (cfg->nvfio == MACHINE_MAX_VFIO)
			return errtext(err, errlen, "--vfio: at most %d devices", MACHINE_MAX_VFIO);
		if (strlen(value) >= MACHINE_VFIO_NAME || strchr(value, '/'))
			return errtext(err, errlen, "--vfio: '%s' is not a PCI address 0000:BB:SS.F", value);
		snprintf(cfg->vfio[cfg->nvfio++], MACHINE_VFIO_NAME, "%s", value);
		return 0;
	}
	if (!strcmp(name, "msi")) {
		if (strcmp(value, "on") && strcmp(value, "off"))
			return errtext(err, errlen, "--msi: '%s': on or off", value);
		cfg->no_msi = !strcmp(value, "off");
		return 0;
	}
	if (!strcmp(name, "monitor") || !strcmp(name, "control-monitor") || !strcmp(name, "qmp")) {
		char *to = name[0] == 'm' ? cfg->monitor : name[0] == 'q' ? cfg->qmp :
			   cfg->control_monitor;

		if (strlen(value) >= sizeof(cfg->monitor) || strchr(value, ','))
			return errtext(err, errlen, "--%s: '%s': too long or has a comma", name, value);
		snprintf(to, sizeof(cfg->monitor), "%s", value);
		return 0;
	}
	if (!strcmp(name, "hotplug-ports"))
		return set_number(name, value, 0, MACHINE_MAX_HOTPLUG_PORTS, &cfg->hotplug_ports,
				  err, errlen);
	return errtext(err, errlen, "unknown machine option '%s'", name);
}

int machine_config_check(const struct machine_config *cfg, char *err,
			 size_t errlen)
{
	unsigned i;

	for (i = 0; i < cfg->ndisks; i++) {
		const struct machine_model *m = cfg->disk[i].dev.model;

		if (m && (m->flags & MODEL_PC_ONLY) && cfg->type != MACHINE_PC)
			return errtext(err, errlen,
				    "--disk ide:%s: the PIIX IDE exists only on --machine pc (use ahci: on q35)",
				    cfg->disk[i].file);
	}
	if (cfg->nvfio && (cfg->ndisks || cfg->nnics || cfg->nsound || cfg->ndevices || cfg->nusb))
		return errtext(err, errlen, "--vfio: the machine is this host's devices; --disk, --nic, "
			       "--sound and --device describe QEMU's");
	for (i = 0; i < cfg->nusbdev; i++)
		if (cfg->usbdev[i].ctrl >= cfg->nusb)
			return errtext(err, errlen, "--usb-device %s: no USB host controller %u (%s)",
				       cfg->usbdev[i].model, cfg->usbdev[i].ctrl, cfg->nusb ?
				       "--usb adds them in order, from 0" : "add one with --usb xhci, ehci, "
				       "uhci or ohci");
	if (cfg->hotplug_ports && cfg->type != MACHINE_Q35)
		return errtext(err, errlen, "--hotplug-ports: only q35 has PCIe root ports (use "
			       "--machine q35)");
	if (cfg->hotplug_ports && cfg->nvfio)
		return errtext(err, errlen, "--hotplug-ports: QEMU's root ports; with --vfio the "
			       "machine is this host");
	if (cfg->iommu == IOMMU_ON && cfg->type != MACHINE_Q35)
		return errtext(err, errlen, "--iommu on: only q35 has an IOMMU (QEMU's intel-iommu)");
	if ((uint64_t)cfg->dma_slots * cfg->dma_mib > 2048)
		return errtext(err, errlen,
			    "DMA memory %u x %u MiB is over 2 GiB: it must fit below the PCI hole",
			    cfg->dma_slots, cfg->dma_mib);
	return 0;
}
