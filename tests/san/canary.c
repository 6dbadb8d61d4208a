/*
 * A program with two planted bugs, built only under SANITIZE: the
 * sanitizer test runs it first, to prove that reports reach the log
 * directory it watches (an empty directory then means something).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int shift = argc + 31;		/* 32: undefined for a 32-bit int */
	char *p = malloc(8);

	(void)argv;
	printf("%d\n", 1 << shift);
	p[argc + 7] = 1;		/* one past the end */
	free(p);
	return 0;
}
