/*
 * mkfirmware — writes the machine's 64 KiB firmware image. No firmware
 * runs on our machine: the reset vector (at 0xFFFF0, the image's last 16
 * bytes) just parks the CPU with interrupts off, so that only our processes
 * drive the devices:
 *     cli ; 1: hlt ; jmp 1b
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static unsigned char image[65536];
	static const unsigned char park[] = { 0xfa, 0xf4, 0xeb, 0xfd };
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: mkfirmware OUTPUT\n");
		return 2;
	}
	memset(image, 0xff, sizeof(image));
	memcpy(image + sizeof(image) - 16, park, sizeof(park));
	f = fopen(argv[1], "wb");
	if (!f || fwrite(image, 1, sizeof(image), f) != sizeof(image) || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
