/* banned.h: libc calls that are easy to misuse, turned into compile errors (git's banned.h).
 * Included last by every .c file of ours; use snprintf, memcpy with an explicit length, and
 * strtok_r-free splitting on slices instead. */
#ifndef SEALGATE_BANNED_H
#define SEALGATE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
