/*
 * The qemu platform: starts Debian's qemu-system-x86_64 as the machine,
 * with no guest OS. A 64 KiB firmware image of ours parks the CPU; we talk
 * to the devices through qtest, over a socketpair inherited by QEMU. RAM is
 * one memfd per NUMA node: node 0 is low memory, every other node is one
 * driver's DMA region, so a driver can be handed exactly its own memory by
 * passing one fd, and nothing is ever created in the file system (no
 * /dev/shm file can be left behind, whoever gets killed).
 */
#define _GNU_SOURCE
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 160

struct argv_builder {
	char *arg[MAX_ARGS];
	int n;
	int overflow;
};

static void add(struct argv_builder *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= MAX_ARGS - 1) {
		a->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&a->arg[a->n], fmt, ap) < 0)
		a->overflow = 1;
	else
		a->n++;
	va_end(ap);
}

static void free_args(struct argv_builder *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->arg[i]);
	a->n = 0;
}

/* The QEMU binary: $DDE_QEMU, or qemu-system-x86_64 from $PATH. */
static int find_qemu(char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = getenv("DDE_QEMU");
	const char *path = getenv("PATH");
	char dir[PATH_MAX];

	if (env && *env) {
		if (access(env, X_OK) == 0) {
			snprintf(out, cap, "%s", env);
			return 0;
		}
		snprintf(err, errlen, "DDE_QEMU=%s: %s", env, strerror(errno));
		return -1;
	}
	while (path && *path) {
		const char *colon = strchrnul(path, ':');

		snprintf(dir, sizeof(dir), "%.*s/qemu-system-x86_64",
			 (int)(colon - path), path);
		if (access(dir, X_OK) == 0) {
			snprintf(out, cap, "%s", dir);
			return 0;
		}
		path = *colon ? colon + 1 : colon;
	}
	snprintf(err, errlen,
		 "qemu-system-x86_64 not found: install the Debian package qemu-system-x86 (apt-get install qemu-system-x86)");
	return -1;
}

/* The firmware image: $DDE_FIRMWARE, or share/dde/firmware.bin beside bin/. */
static int find_firmware(char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = getenv("DDE_FIRMWARE");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			n = 0;
		exe[n] = 0;
		char *slash = strrchr(exe, '/');

		if (slash)
			*slash = 0;
		if (snprintf(out, cap, "%s/../share/dde/firmware.bin", exe) >= (int)cap)
			out[0] = 0;
	}
	if (access(out, R_OK)) {
		snprintf(err, errlen,
			 "firmware image %s: %s (run make, or set DDE_FIRMWARE)",
			 out, strerror(errno));
		return -1;
	}
	return 0;
}

static bool kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ",PROPS" of a device: the model's own properties and the user's */
static bool virtio_pci(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "virtio-", 7) && n > 11 && !strcmp(name + n - 4, "-pci");
}

/*
 * A device's properties: the model's own, the user's, and with the IOMMU
 * on, for QEMU's virtio PCI devices (transitional by default), modern-only
 * and translated: legacy virtio bypasses the IOMMU (QEMU refuses
 * iommu_platform on a device that keeps its legacy interface). A user
 * who asks for legacy (disable-legacy=off) gets it, with a warning.
 */
static void dev_props(char *out, size_t cap, const struct machine_dev *d, unsigned index,
		      bool iommu)
{
	char own[160] = "";

	if (d->model && d->model->props)
		snprintf(own, sizeof(own), d->model->props, index);
	if (iommu && virtio_pci(d->name)) {
		if (strstr(d->props, "disable-legacy=off"))
			fprintf(stderr, "warning: %s with disable-legacy=off is legacy virtio, which "
				"QEMU lets bypass the IOMMU: its DMA is not confined\n", d->name);
		else if (!strstr(d->props, "iommu_platform"))
			snprintf(own + strlen(own), sizeof(own) - strlen(own), "%s%s", own[0] ? "," : "",
				 strstr(d->props, "disable-legacy=") ? "iommu_platform=on" :
				 "disable-legacy=on,iommu_platform=on");
	}
	snprintf(out, cap, "%s%s%s%s", own[0] ? "," : "", own, d->props[0] ? "," : "", d->props);
}

static void add_devices(struct argv_builder *a, const struct machine_config *cfg)
{
	unsigned i, ahci = 0, ide = 0;
	char props[400];

	if (machine_iommu_on(cfg)) {	/* before the devices it translates for */
		add(a, "-device");
		add(a, "intel-iommu");
	}
	/*
	 * Hot-plug capable root ports, before the devices that may sit on
	 * them. PCIe native hotplug (the slot registers, which ddeio serves
	 * as the OS would: pci.c), not QEMU's default ACPI hotplug on q35,
	 * which needs a guest's ACPI interpreter.
	 */
	if (cfg->hotplug_ports) {
		add(a, "-global");
		add(a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
	}
	for (i = 0; i < cfg->hotplug_ports; i++) {
		add(a, "-device");
		add(a, "pcie-root-port,id=hp%u,bus=pcie.0,chassis=1,slot=%u,addr=0x%x", i, i + 1,
		    QEMU_HOTPLUG_SLOT + i);
	}
	/* pc has no AHCI of its own: add one controller for all ahci: disks */
	for (i = 0; i < cfg->ndisks; i++) {
		const struct machine_model *m = cfg->disk[i].dev.model;

		if (m && m->backend == BACKEND_IDE_BUS && !(m->flags & MODEL_BUILTIN_PC) &&
		    cfg->type == MACHINE_PC) {
			add(a, "-device");
			add(a, "%s,id=ahci0", m->name);
			break;
		}
	}
	for (i = 0; i < cfg->ndisks; i++) {
		const struct machine_disk *d = &cfg->disk[i];
		const struct machine_model *m = d->dev.model;

		add(a, "-drive");
		/* discard=unmap: a driver's trim reaches the image (a hole is punched) */
		if (d->blkdebug[0])
			add(a, "if=none,id=disk%u,discard=unmap,driver=raw,file.driver=blkdebug,"
			    "file.config=%s,file.image.driver=file,file.image.filename=%s", i,
			    d->blkdebug, d->file);
		else
			add(a, "if=none,id=disk%u,discard=unmap,file=%s,format=raw", i, d->file);
		add(a, "-device");
		dev_props(props, sizeof(props), &d->dev, i, machine_iommu_on(cfg));
		if (m && m->backend == BACKEND_IDE_BUS && (m->flags & MODEL_PC_ONLY)) {
			/* PIIX IDE: ide.0 primary, ide.1 secondary, two units each */
			add(a, "ide-hd,drive=disk%u,bus=ide.%u,unit=%u%s", i, ide / 2, ide % 2, props);
			ide++;
		} else if (m && m->backend == BACKEND_IDE_BUS) {
			/* q35: the ICH9's own AHCI at 00:1f.2, buses ide.0 .. ide.5 */
			add(a, "ide-hd,drive=disk%u,bus=%s.%u%s", i,
			    cfg->type == MACHINE_Q35 ? "ide" : "ahci0", ahci++, props);
		} else {
			add(a, "%s,drive=disk%u%s", d->dev.name, i, props);
		}
	}
	for (i = 0; i < cfg->nnics; i++) {
		const struct machine_nic *n = &cfg->nic[i];
		const char *mac_key = n->mac[0] ? ",mac=" : "";

		if (n->net == NET_UDP) {
			add(a, "-netdev");
			add(a, "socket,id=net%u,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u",
			    i, n->remote_port, n->local_port);
		} else if (n->net == NET_USER) {
			add(a, "-netdev");
			add(a, "user,id=net%u", i);
		}
		add(a, "-device");
		dev_props(props, sizeof(props), &n->dev, i, machine_iommu_on(cfg));
		if (n->net == NET_NONE)
			add(a, "%s%s%s%s", n->dev.name, mac_key, n->mac, props);
		else
			add(a, "%s,netdev=net%u%s%s%s", n->dev.name, i, mac_key, n->mac, props);
	}
	if (cfg->monitor[0]) {
		add(a, "-monitor");
		add(a, "unix:%s,server=on,wait=off", cfg->monitor);
	}
	if (cfg->qmp[0]) {
		add(a, "-qmp");
		add(a, "unix:%s,server=on,wait=off", cfg->qmp);
	}
	if (cfg->control_monitor[0]) {
		add(a, "-monitor");
		add(a, "unix:%s,server=on,wait=off", cfg->control_monitor);
	}
	for (i = 0; i < cfg->nsound; i++) {
		const struct machine_sound *s = &cfg->sound[i];

		/*
		 * A wav file gets the device's samples untouched: QEMU's mixing
		 * engine (rate and format conversion, volume) off for output.
		 * The wav backend then takes the samples at its own rate, 44.1 kHz
		 * (also in the file's header), whatever the stream's: QEMU 7.2
		 * takes no rate for it without the mixing engine.
		 * With mix=on the mixing engine stays on: the file gets what a
		 * listener would hear, the device's mixer (volume, mute) applied
		 * and converted to 44.1 kHz.
		 * The wav backend has no input side (QEMU says it cannot create
		 * the capture voice); the none backend's input is silence.
		 * The HDA codec runs without its timer (use-timer=off): with it,
		 * the codec reads the stream into an 8 KiB buffer on a timer of
		 * its own and drops the whole buffer (2048 frames of 16-bit
		 * stereo) whenever the audio backend has not taken it in time,
		 * which a busy host makes happen (hda_audio_overrun in QEMU's
		 * hw/audio/hda-codec.c): a stream came out 2048 frames short in
		 * about one full test run in five. Without it, the codec moves
		 * the stream from DMA memory when the backend asks for it.
		 */
		add(a, "-audiodev");
		if (s->wav[0])
			add(a, "wav,id=snd%u,path=%s,out.mixing-engine=%s,out.voices=1", i, s->wav,
			    s->mix ? "on" : "off");
		else
			add(a, "none,id=snd%u", i);
		add(a, "-device");
		dev_props(props, sizeof(props), &s->dev, i, machine_iommu_on(cfg));
		if (s->dev.model && s->dev.model->backend == BACKEND_HDA_CODEC) {
			add(a, "%s,id=hda%u%s", s->dev.name, i, props);
			add(a, "-device");
			add(a, "hda-duplex,bus=hda%u.0,audiodev=snd%u,use-timer=off", i, i);
		} else {
			add(a, "%s,audiodev=snd%u%s", s->dev.name, i, props);
		}
	}
	/* USB host controllers usb0.. (their buses usbK.0) and the devices on them */
	for (i = 0; i < cfg->nusb; i++) {
		add(a, "-device");
		dev_props(props, sizeof(props), &cfg->usb[i], i, machine_iommu_on(cfg));
		add(a, "%s,id=usb%u%s", cfg->usb[i].name, i, props);
	}
	for (i = 0; i < cfg->nusbdev; i++) {
		const struct machine_usb_device *u = &cfg->usbdev[i];

		if (u->file[0]) {
			add(a, "-drive");
			add(a, "if=none,id=usbdisk%u,file=%s,format=raw", i, u->file);
			add(a, "-device");
			add(a, "%s,bus=usb%u.0,drive=usbdisk%u,id=usbdev%u", u->model, u->ctrl, i, i);
		} else {
			add(a, "-device");
			add(a, "%s,bus=usb%u.0,id=usbdev%u", u->model, u->ctrl, i);
		}
	}
	for (i = 0; i < cfg->ndevices; i++) {
		add(a, "-device");
		dev_props(props, sizeof(props), &cfg->device[i], i, machine_iommu_on(cfg));
		add(a, "%s%s", cfg->device[i].name, props);
	}
}

static int make_regions(struct qemu_machine *p, const struct machine_config *cfg,
			char *err, size_t errlen)
{
	uint64_t bus = 0;

	p->nregions = 1 + cfg->dma_slots;
	for (unsigned i = 0; i < p->nregions; i++) {
		uint64_t size = (uint64_t)(i ? cfg->dma_mib : QEMU_LOW_MIB) << 20;
		char name[32];

		snprintf(name, sizeof(name), "dde-ram%u", i);
		/* inherited: QEMU opens /proc/self/fd/N */
		if (platform_region_make(&p->region[i], name, bus, size, true, err, errlen))
			return -1;
		bus += size;
	}
	return 0;
}

static void build_args(struct argv_builder *a, struct qemu_machine *p,
		       const struct machine_config *cfg, const char *qemu,
		       const char *firmware, int qtest_fd)
{
	uint64_t total = 0;
	bool kvm = cfg->accel == ACCEL_KVM || (cfg->accel == ACCEL_AUTO && kvm_usable());

	for (unsigned i = 0; i < p->nregions; i++)
		total += p->region[i].size;
	add(a, "%s", qemu);
	add(a, "-machine");
	/*
	 * With KVM, the I/O APIC is QEMU's own (split irqchip), not the
	 * kernel's: qtest intercepts QEMU's lines, and with the in-kernel one
	 * the interrupts of a second NVMe controller never reached ddeio.
	 */
	add(a, "%s%s", machine_type_name(cfg->type), kvm ? ",kernel-irqchip=split" : "");
	add(a, "-accel");
	add(a, "%s", kvm ? "kvm" : "tcg");
	add(a, "-bios");
	add(a, "%s", firmware);
	add(a, "-nodefaults");
	add(a, "-no-user-config");
	add(a, "-display");
	add(a, "none");
	add(a, "-smp");
	add(a, "1");
	add(a, "-m");
	add(a, "%lluM", (unsigned long long)(total >> 20));
	add(a, "-chardev");
	add(a, "socket,id=qtest,fd=%d", qtest_fd);
	add(a, "-object");
	add(a, "qtest,id=qtest0,chardev=qtest,log=/dev/null");
	for (unsigned i = 0; i < p->nregions; i++) {
		add(a, "-object");
		add(a, "memory-backend-file,id=ram%u,size=%llu,mem-path=/proc/self/fd/%d,share=on",
		    i, (unsigned long long)p->region[i].size, p->region[i].fd);
		add(a, "-numa");
		add(a, "node,nodeid=%u,memdev=ram%u", i, i);
	}
	add_devices(a, cfg);
	for (unsigned i = 0; i < p->nremap; i++) {	/* MSI remappers (msi.c) */
		add(a, "-chardev");
		add(a, "socket,id=msi%u,fd=%d", i, p->remap[i].qemu_end);
		add(a, "-device");
		add(a, "ivshmem-doorbell,chardev=msi%u,vectors=%u,ioeventfd=off,addr=0x%x", i,
		    QEMU_MSI_VECTORS, QEMU_MSI_SLOT + i);
	}
}

static void close_regions(struct qemu_machine *p)
{
	for (unsigned i = 0; i < p->nregions; i++)
		platform_region_free(&p->region[i]);
	p->nregions = 0;
}

static void qemu_stop(struct platform *base);

static struct platform *qemu_start(const struct machine_config *cfg, char *err, size_t errlen)
{
	char qemu[PATH_MAX], firmware[PATH_MAX];
	struct argv_builder args = { .n = 0 };
	struct qemu_machine *p;
	int sv[2] = { -1, -1 };
	pid_t parent = getpid();
	uint64_t v;

	if (find_qemu(qemu, sizeof(qemu), err, errlen) ||
	    find_firmware(firmware, sizeof(firmware), err, errlen))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base.ops = &platform_qemu_ops;
	p->type = cfg->type;
	for (unsigned i = 0; i < QEMU_MAX_REGIONS; i++)
		p->region[i].fd = -1;
	if (make_regions(p, cfg, err, errlen) ||
	    (!cfg->no_msi && qemu_msi_prepare(p, err, errlen)))
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		goto fail;
	}
	build_args(&args, p, cfg, qemu, firmware, sv[1]);
	if (args.overflow) {
		snprintf(err, errlen, "too many machine options");
		goto fail;
	}
	if (getenv("DDE_QEMU_VERBOSE")) {
		for (int i = 0; i < args.n; i++)
			fprintf(stderr, "%s ", args.arg[i]);
		fprintf(stderr, "\n");
	}
	p->pid = fork();
	if (p->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (p->pid == 0) {
		/* The machine must never outlive whoever started it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int devnull = open("/dev/null", O_RDWR);
		sigset_t none;

		/* our caller may block signals it reads from a signalfd */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);

		dup2(devnull, 0);
		dup2(devnull, 1);
		fcntl(sv[1], F_SETFD, 0);
		execv(qemu, args.arg);
		fprintf(stderr, "exec %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	sv[1] = -1;
	qemu_msi_started(p);
	free_args(&args);
	p->qt = qtest_open(sv[0]);
	if (!p->qt) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sv[0] = -1;
	/* The first reply proves the machine is up. */
	if (qtest_cmd(p->qt, &v, "irq_intercept_in /machine/%s/ioapic",
		      cfg->type == MACHINE_Q35 ? "q35" : "i440fx")) {
		int status = 0;

		waitpid(p->pid, &status, 0);
		p->pid = 0;
		snprintf(err, errlen,
			 "QEMU did not start (exit status %d; its message is above)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		goto fail;
	}
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct machine_model *m = cfg->nic[i].dev.model;
		unsigned nth = 0;

		for (unsigned j = 0; j < i; j++)	/* QEMU places NICs in order */
			nth += cfg->nic[j].dev.model == m;
		if (cfg->nic[i].revision >= 0 && m)	/* the parser insists on a known model */
			p->revision[p->nrevision++] = (struct qemu_revision){
				m->vendor, m->device, nth, (uint8_t)cfg->nic[i].revision, 0, 0 };
	}
	if (qemu_pci_setup(p, err, errlen))
		goto fail;
	qemu_quirks_setup(p);
	if (machine_iommu_on(cfg) && qemu_iommu_setup(p, err, errlen))
		goto fail;
	return &p->base;
fail:
	free_args(&args);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	qemu_stop(&p->base);
	return NULL;
}

static void qemu_stop(struct platform *base)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	if (!p)
		return;
	qtest_close(p->qt);
	p->qt = NULL;
	if (p->pid > 0) {
		/* SIGTERM lets QEMU flush the disk images; give it 2 s. */
		kill(p->pid, SIGTERM);
		for (int i = 0; i < 2000; i++) {
			if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
				p->pid = 0;
				break;
			}
			usleep(1000);
		}
		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
	}
	close_regions(p);
	qemu_msi_close(p);
	free(p);
}

static pid_t qemu_pid(const struct platform *base)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return p->pid;
}

static unsigned qemu_device_count(const struct platform *base)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return p->ndev;
}

static const struct ddeio_device *qemu_device(const struct platform *base,
					   unsigned index)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return index < p->ndev ? &p->dev[index] : NULL;
}

static unsigned qemu_region_count(const struct platform *base)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return p->nregions;
}

static const struct platform_region *qemu_region(const struct platform *base,
					      unsigned index)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return index < p->nregions ? &p->region[index] : NULL;
}

static void qemu_region_scrub(struct platform *base, unsigned index)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	struct platform_region *r = &p->region[index];

	/* Punching a hole frees the pages and reads back as zeros. */
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)r->size))
		memset(r->map, 0, r->size);
}

static const char size_suffix[] = { [1] = 'b', [2] = 'w', [4] = 'l', [8] = 'q' };

static bool valid_size(unsigned size, unsigned max)
{
	return size <= max && (size == 1 || size == 2 || size == 4 || size == 8);
}

static int qemu_pio_read(struct platform *base, uint16_t port, unsigned size,
		      uint32_t *value)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	uint64_t v;
	int r;

	if (!valid_size(size, 4))
		return -EINVAL;
	r = qtest_cmd(p->qt, &v, "in%c 0x%x", size_suffix[size], port);
	*value = (uint32_t)v;
	return r;
}

static int qemu_pio_write(struct platform *base, uint16_t port, unsigned size,
		       uint32_t value, bool posted)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	int r;

	if (!valid_size(size, 4))
		return -EINVAL;
	if (posted)
		r = qtest_posted(p->qt, "out%c 0x%x 0x%x", size_suffix[size], port, value);
	else
		r = qtest_cmd(p->qt, NULL, "out%c 0x%x 0x%x", size_suffix[size], port, value);
	if (!r && p->nwatch)
		qemu_quirks_write(p, true, port, size, value);
	return r;
}

/*
 * String port I/O: the commands go to QEMU in batches, so that a 1514-byte
 * frame read with rep insw costs a few round trips, not 757. A batch is
 * kept small enough that QEMU's replies never fill the socket while we
 * are still sending.
 */
#define PIO_BATCH 256

static int pio_rep(struct qemu_machine *p, uint16_t port, unsigned size, void *buf,
		   unsigned count, bool write, bool posted)
{
	static char cmds[PIO_BATCH * 32];
	uint64_t v[PIO_BATCH];

	if (!valid_size(size, 4))
		return -EINVAL;
	for (unsigned done = 0; done < count;) {
		unsigned n = count - done < PIO_BATCH ? count - done : PIO_BATCH;
		size_t len = 0;
		int r;

		for (unsigned i = 0; i < n; i++) {
			uint32_t x = 0;

			if (write)
				memcpy(&x, (char *)buf + (size_t)(done + i) * size, size);
			len += (size_t)(write ? snprintf(cmds + len, sizeof(cmds) - len,
							 "out%c 0x%x 0x%x\n", size_suffix[size], port, x)
					      : snprintf(cmds + len, sizeof(cmds) - len,
							 "in%c 0x%x\n", size_suffix[size], port));
		}
		r = qtest_batch(p->qt, cmds, len, n, write ? NULL : v, write && posted);
		if (r)
			return r;
		for (unsigned i = 0; !write && i < n; i++) {
			uint32_t x = (uint32_t)v[i];

			memcpy((char *)buf + (size_t)(done + i) * size, &x, size);
		}
		done += n;
	}
	return 0;
}

static int qemu_pio_read_rep(struct platform *base, uint16_t port, unsigned size,
			  void *buf, unsigned count)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	return pio_rep(p, port, size, buf, count, false, false);
}

static int qemu_pio_write_rep(struct platform *base, uint16_t port, unsigned size,
			   const void *buf, unsigned count, bool posted)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	return pio_rep(p, port, size, (void *)buf, count, true, posted);
}

static int qemu_mmio_read(struct platform *base, uint64_t addr, unsigned size,
		       uint64_t *value)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	if (!valid_size(size, 8))
		return -EINVAL;
	return qtest_cmd(p->qt, value, "read%c 0x%llx", size_suffix[size],
			 (unsigned long long)addr);
}

static int qemu_mmio_write(struct platform *base, uint64_t addr, unsigned size,
			uint64_t value, bool posted)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	int r;

	if (!valid_size(size, 8))
		return -EINVAL;
	if (posted)
		r = qtest_posted(p->qt, "write%c 0x%llx 0x%llx", size_suffix[size],
				 (unsigned long long)addr, (unsigned long long)value);
	else
		r = qtest_cmd(p->qt, NULL, "write%c 0x%llx 0x%llx", size_suffix[size],
			      (unsigned long long)addr, (unsigned long long)value);
	if (!r && p->nwatch)
		qemu_quirks_write(p, false, addr, size, value);
	return r;
}

/* Config mechanism #1 (ports 0xcf8/0xcfc): works on both chipsets. */
static int config_address(struct qemu_machine *p, uint32_t bdf, unsigned offset)
{
	return qtest_posted(p->qt, "outl 0xcf8 0x%x",
			    0x80000000u | bdf << 8 | (offset & 0xfc));
}

static int qemu_config_read(struct platform *base, uint32_t bdf, unsigned offset,
			 unsigned size, uint32_t *value)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	int r;

	if (!valid_size(size, 4) || offset + size > 256 || offset % size)
		return -EINVAL;
	r = config_address(p, bdf, offset);
	if (!r)
		r = qemu_pio_read(base, (uint16_t)(0xcfc + (offset & 3)), size, value);
	for (unsigned i = 0; !r && i < p->nrevision; i++)
		if (p->revision[i].found && p->revision[i].bdf == bdf && offset == 8)
			*value = (*value & ~0xffu) | p->revision[i].rev;	/* --nic revision= */
	return r;
}

static int qemu_config_write(struct platform *base, uint32_t bdf, unsigned offset,
			  unsigned size, uint32_t value)
{
	struct qemu_machine *p = (struct qemu_machine *)base;
	int r;

	if (!valid_size(size, 4) || offset + size > 256 || offset % size)
		return -EINVAL;
	r = config_address(p, bdf, offset);
	if (r)
		return r;
	/* Not posted: the next config access must see it. */
	return qemu_pio_write(base, (uint16_t)(0xcfc + (offset & 3)), size, value, false);
}

static void qemu_set_irq_handler(struct platform *base,
			      void (*handler)(void *ctx, unsigned line, bool level),
			      void *ctx)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	qtest_set_irq_handler(p->qt, handler, ctx);
}

static bool qemu_irq_level(const struct platform *base, unsigned line)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return qtest_irq_level(p->qt, line);
}

static int qemu_sync(struct platform *base)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	return qtest_sync(p->qt);
}

static void qemu_batch_posted(struct platform *base, bool on)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	qtest_set_batch(p->qt, on);
}

static int qemu_flush(struct platform *base)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	return qtest_flush(p->qt);
}

static int qemu_event_fd(const struct platform *base)
{
	const struct qemu_machine *p = (const struct qemu_machine *)base;

	return qtest_fd(p->qt);
}

static int qemu_poll_events(struct platform *base)
{
	struct qemu_machine *p = (struct qemu_machine *)base;

	return qtest_poll(p->qt);
}

const struct platform_ops platform_qemu_ops = {
	.name = "qemu",
	.start = qemu_start,
	.stop = qemu_stop,
	.pid = qemu_pid,
	.device_count = qemu_device_count,
	.device = qemu_device,
	.hotplug_scan = qemu_hotplug_scan,
	.hotplug_eject = qemu_hotplug_eject,
	.region_count = qemu_region_count,
	.region = qemu_region,
	.region_scrub = qemu_region_scrub,
	.config_read = qemu_config_read,
	.config_write = qemu_config_write,
	.pio_read = qemu_pio_read,
	.pio_write = qemu_pio_write,
	.pio_read_rep = qemu_pio_read_rep,
	.pio_write_rep = qemu_pio_write_rep,
	.mmio_read = qemu_mmio_read,
	.mmio_write = qemu_mmio_write,
	.set_irq_handler = qemu_set_irq_handler,
	.irq_level = qemu_irq_level,
	.sync = qemu_sync,
	.batch_posted = qemu_batch_posted,
	.flush = qemu_flush,
	.event_fd = qemu_event_fd,
	.poll_events = qemu_poll_events,
	.iommu = qemu_iommu,
	.dma_confine = qemu_dma_confine,
	.dma_faults = qemu_dma_faults,
	.msi_route = qemu_msi_route,
	.msi_unroute = qemu_msi_unroute,
};
