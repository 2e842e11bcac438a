# InstallSystemFiles.cmake: run by `cmake --install` (and by cpack) through
# install(SCRIPT) in Packaging.cmake. Installs the files of deploy/ that live
# outside the prefix: the systemd units and the environment files.
#
# With the prefix /usr (the Debian package, or a hand install into /usr) the
# files go where a Debian package puts them, exactly as they are in deploy/:
#   /lib/systemd/system/*.socket, *.service
#   /etc/social-post/social-post.env, worker.env (mode 0600)
# With any other prefix P (e.g. /usr/local) they go to P/lib/systemd/system
# (which systemd also reads) and P/etc/social-post, and the paths inside them
# (/usr/bin/..., /usr/share/..., /etc/social-post) are rewritten to P's.
# Environment files that exist already are kept unless DESTDIR is set (a
# staging install, as cpack does): they hold the operator's settings.
#
# Set by the install(CODE) before this script: SP_DEPLOY_SOURCE (deploy/),
# SP_DEPLOY_STAGING (a folder of the build tree for rewritten copies).

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(sp_etc_dir "/etc/social-post")
    set(sp_unit_dir "/lib/systemd/system")
else()
    set(sp_etc_dir "${CMAKE_INSTALL_PREFIX}/etc/social-post")
    set(sp_unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()

# Returns in out_var the path of src as it is installed: src itself with the
# prefix /usr, else a copy with the paths rewritten for this prefix.
function(sp_deploy_file src out_var)
    if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
        set(${out_var} "${src}" PARENT_SCOPE)
        return()
    endif()
    file(READ "${src}" text)
    string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_PREFIX}/bin/" text "${text}")
    string(REPLACE "/usr/share/" "${CMAKE_INSTALL_PREFIX}/share/" text "${text}")
    string(REPLACE "/usr/lib/social-post/" "${CMAKE_INSTALL_PREFIX}/lib/social-post/" text "${text}")
    string(REPLACE "/etc/social-post" "${sp_etc_dir}" text "${text}")
    get_filename_component(name "${src}" NAME)
    set(copy "${SP_DEPLOY_STAGING}/${name}")
    file(WRITE "${copy}" "${text}")
    set(${out_var} "${copy}" PARENT_SCOPE)
endfunction()

file(GLOB sp_units "${SP_DEPLOY_SOURCE}/systemd/*.socket" "${SP_DEPLOY_SOURCE}/systemd/*.service")
foreach(unit IN LISTS sp_units)
    sp_deploy_file("${unit}" installed)
    file(INSTALL DESTINATION "${sp_unit_dir}" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES "${installed}")
endforeach()

foreach(name social-post.env worker.env)
    if(EXISTS "$ENV{DESTDIR}${sp_etc_dir}/${name}" AND "$ENV{DESTDIR}" STREQUAL "")
        message(STATUS "Keeping: ${sp_etc_dir}/${name} (exists)")
        continue()
    endif()
    sp_deploy_file("${SP_DEPLOY_SOURCE}/${name}" installed)
    file(INSTALL DESTINATION "${sp_etc_dir}" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE FILES "${installed}")
endforeach()

# The cron path's helpers (lib/social-post): the environment-file reader and
# the FastCGI programs' starter.
foreach(helper social-post-env social-post-spawn)
    sp_deploy_file("${SP_DEPLOY_SOURCE}/bin/${helper}" installed)
    file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/social-post" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                     WORLD_EXECUTE FILES "${installed}")
endforeach()

# The cron path's logs are rotated (a conffile of the package).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(sp_logrotate_dir "/etc/logrotate.d")
else()
    set(sp_logrotate_dir "${CMAKE_INSTALL_PREFIX}/etc/logrotate.d")
endif()
file(INSTALL DESTINATION "${sp_logrotate_dir}" TYPE FILE RENAME social-post
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${SP_DEPLOY_SOURCE}/debian/logrotate")

# Examples to copy from: the cron lines and an nginx site (share/social-post/deploy).
foreach(example cron/social-post-worker.cron cron/social-post-http.cron nginx/social-post-site.conf)
    sp_deploy_file("${SP_DEPLOY_SOURCE}/${example}" installed)
    file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/share/social-post/deploy" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES "${installed}")
endforeach()
