# Warnings every segdistill target compiles with. LibTorch's own headers are
# included as system headers, so these apply to our code only. SEGDISTILL_WERROR
# (on in CI) makes them errors.
function(segdistill_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Winvalid-pch)
    if(SEGDISTILL_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
