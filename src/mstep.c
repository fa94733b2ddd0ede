/* mstep.c: placeholder until the module lands. */
