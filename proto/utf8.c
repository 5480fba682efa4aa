/* utf8.c - placeholder until written. */
#include "utf8.h"
