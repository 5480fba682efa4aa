/* sio.c - placeholder until written. */
#include "sio.h"
