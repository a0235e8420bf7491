# SLUICE_SANITIZE=ON builds everything with ASan and UBSan; the test suite uses it.
# SLUICE_TSAN=ON builds everything with ThreadSanitizer (the suite's second build: the broker's
# unit tests and the concurrency soak run under it). The two cannot be combined.
if(SLUICE_SANITIZE AND SLUICE_TSAN)
  message(FATAL_ERROR "SLUICE_SANITIZE and SLUICE_TSAN cannot be combined")
endif()
if(SLUICE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(SLUICE_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
