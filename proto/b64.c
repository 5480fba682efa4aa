/* b64.c - placeholder until written. */
#include "b64.h"
