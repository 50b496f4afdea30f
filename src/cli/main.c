/* main.c - placeholder until the command table lands. */
#include "common.h"
int main(void) { return 0; }
