# SPDX-License-Identifier: MIT
# cmake -DDOC=doc.md -DFILE1=a.cpp [-DFILE2=b.c ...] -P check_doc_includes.cmake
# Each file's whole text must appear in DOC verbatim (a code block showing it), so
# the documentation cannot drift from the programs CI builds and runs.
if(NOT DEFINED DOC OR NOT DEFINED FILE1)
  message(FATAL_ERROR "check_doc_includes.cmake: DOC and FILE1 must be set")
endif()
file(READ "${DOC}" _doc)
foreach(_i RANGE 1 9)
  if(NOT DEFINED FILE${_i})
    break()
  endif()
  file(READ "${FILE${_i}}" _text)
  string(FIND "${_doc}" "${_text}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "${DOC} does not show ${FILE${_i}} as it is: copy the file's text "
                        "into its code block")
  endif()
  message(STATUS "${FILE${_i}}: shown in ${DOC} at offset ${_at}")
endforeach()
