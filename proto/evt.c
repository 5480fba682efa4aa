/* evt.c - placeholder until written. */
#include "evt.h"
