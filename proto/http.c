/* http.c - placeholder until written. */
#include "http.h"
