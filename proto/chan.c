/* chan.c - placeholder until written. */
#include "chan.h"
