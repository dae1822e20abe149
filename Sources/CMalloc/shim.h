// glibc's malloc tuning (mallopt and its M_* options), which Swift's Glibc module leaves out.
#if defined(__linux__)
#include <malloc.h>
#endif
