# The installed library: SONAME, exported symbols, a consumer through pkg-config and through
# the CMake package (tests/install_check.sh).
add_test(NAME test_install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install_check.sh
         ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(test_install PROPERTIES LABELS library)
# The layers in one direction: no #include points up a layer (tests/layers_check.sh).
add_test(NAME test_layers COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/layers_check.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_layers PROPERTIES LABELS library)
