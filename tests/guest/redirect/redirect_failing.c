// SPDX-License-Identifier: GPL-2.0
/*
 * guest-mod/redirect.c as pvscale_guest builds it, but unregistering
 * through redirtest_unregister(), which fails on demand: ftrace refuses
 * only once it has shut itself down, which nothing else can make it do.
 */
#include "redirtest.h"
#define pvg_unregister_ftrace_function redirtest_unregister
#include "redirect.c"
