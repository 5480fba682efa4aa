/* eio.c - placeholder until written. */
#include "eio.h"
