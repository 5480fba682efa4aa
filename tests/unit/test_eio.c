/* test_eio.c - placeholder until written: fails so it cannot pass unnoticed. */
#include "t.h"
int main(void) { return t_fail_placeholder("eio"); }
