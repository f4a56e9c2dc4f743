# Warnings every segdistill target compiles with. LibTorch's own headers are
# included as system headers, so these apply to our code only.
function(segdistill_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Winvalid-pch)
  endif()
endfunction()
