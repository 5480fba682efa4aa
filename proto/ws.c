/* ws.c - placeholder until written. */
#include "ws.h"
