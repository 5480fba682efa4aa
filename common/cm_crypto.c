/* cm_crypto.c - placeholder until written. */
#include "cm_crypto.h"
