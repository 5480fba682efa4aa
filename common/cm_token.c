/* cm_token.c - placeholder until written. */
#include "cm_token.h"
