/* estep.c: placeholder until the module lands. */
