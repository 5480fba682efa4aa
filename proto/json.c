/* json.c - placeholder until written. */
#include "json.h"
