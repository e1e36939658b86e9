// SPDX-License-Identifier: MIT
/* REPVK_API marks the symbols librepvk.so exports; everything else is built with
 * -fvisibility=hidden and stays private to the library. Plain C so that repvk.h can
 * include it. Static builds need nothing: the attribute is harmless there. */
#ifndef REPVK_EXPORT_H
#define REPVK_EXPORT_H

#if defined(_WIN32)
#  if defined(REPVK_STATIC)
#    define REPVK_API
#  elif defined(REPVK_BUILDING_SHARED)
#    define REPVK_API __declspec(dllexport)
#  else
#    define REPVK_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define REPVK_API __attribute__((visibility("default")))
#else
#  define REPVK_API
#endif

#endif /* REPVK_EXPORT_H */
