/* Minimal stand-ins so that codegen parses the public header without the
 * platform's libc headers. Sizes match LP64 and ILP32 alike for these types. */
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
typedef unsigned long long uintptr_t;
