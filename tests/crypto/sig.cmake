# Tests of the sig_ module (crypto/sig*.c) and `sealgate verify`.
sealgate_unit_test(sig_test_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/sig_test_unit.c
    LIBS sealgate_crypto PkgConfig::SODIUM)
add_executable(sig_tool ${CMAKE_CURRENT_LIST_DIR}/sig_tool.c)
target_link_libraries(sig_tool PRIVATE sealgate_crypto sealgate_util sealgate_options)
sealgate_script_test(sig_verify sig_verify.sh LABELS e2e TIMEOUT 300)
