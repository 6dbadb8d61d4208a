/*
 * What Debian's block modules import for paths a driver process never
 * takes: tracepoint output (no tracer attaches: every tracepoint stays
 * off), copies to and from user space and ioctls (no process calls into a
 * driver here: clients speak to bddf), io_uring passthrough, zoned-disk
 * revalidation, SR-IOV configuration through sysfs, /proc and sysfs file
 * handlers, netlink messages (no socket reaches a driver process), and
 * for USB's modules: usbfs, hidraw and hiddev's character devices (no
 * process opens them), a host controller's own local memory and a SoC's
 * PHYs (a PCI controller has neither), a HID device's battery (QEMU's
 * have none). Each is defined so
 * that such modules load; each stops the driver, naming itself, if it is
 * ever reached. (Linux's prototypes are not included: these are entry
 * points, never called from this library.)
 */
#include <lx_kit/kit.h>

void lx_ksrv_unreachable(const char *name) __attribute__((noreturn));

/*
 * Data of the same paths (a tracepoint, the static keys and per-CPU state
 * of BPF and XDP): zero, i.e. off. Module code tests them through jump
 * labels the loader leaves as compiled (off), or not at all.
 */
#define ZERO(name, size) __attribute__((weak, aligned(64))) char name[size];

/* weak: a library that has the real one (the net class's skb_pull) wins */
#define NEVER(name)						\
	void name(void);					\
	__attribute__((weak)) void name(void)			\
	{							\
		lx_ksrv_unreachable(#name);			\
	}

/* tracepoint output and registration (the tracing subsystem's) */
NEVER(trace_event_raw_init)
NEVER(trace_event_reg)
NEVER(trace_event_buffer_reserve)
NEVER(trace_event_buffer_commit)
NEVER(trace_event_printf)
NEVER(trace_raw_output_prep)
NEVER(trace_handle_return)
NEVER(trace_seq_printf)
NEVER(trace_seq_putc)
NEVER(trace_print_symbols_seq)
NEVER(trace_print_hex_seq)
NEVER(trace_seq_puts)
NEVER(__trace_trigger_soft_disabled)
NEVER(perf_trace_buf_alloc)
NEVER(perf_trace_run_bpf_submit)
NEVER(bpf_trace_run1)
NEVER(bpf_trace_run2)
NEVER(bpf_trace_run3)
NEVER(bpf_trace_run4)
NEVER(bpf_trace_run5)
/* user space: copies, ioctls, capabilities */
NEVER(_copy_from_user)
NEVER(_copy_to_user)
NEVER(__put_user_4)
NEVER(__put_user_8)
NEVER(__get_user_4)
NEVER(__get_user_8)
NEVER(__get_user_1)
NEVER(__check_object_size)
NEVER(compat_ptr_ioctl)
NEVER(blkdev_compat_ptr_ioctl)
NEVER(capable)
/* io_uring passthrough commands */
NEVER(io_uring_cmd_done)
NEVER(io_uring_cmd_import_fixed)
NEVER(io_uring_cmd_complete_in_task)
/* zoned disks, multipath heads, a disk's partition rescan by ioctl */
NEVER(blk_revalidate_disk_zones)
NEVER(blk_req_zone_write_trylock)
NEVER(__blk_req_zone_write_unlock)
/* a block device opened through its node (bddf opens none) */
NEVER(bdev_check_media_change)
NEVER(__blk_alloc_disk)
NEVER(bdev_disk_changed)
/* SR-IOV through sysfs */
NEVER(pci_sriov_configure_simple)
/* /proc, sysfs and seq_file handlers */
NEVER(seq_printf)
NEVER(seq_puts)
NEVER(seq_read)
NEVER(seq_putc)
NEVER(seq_lseek)
NEVER(seq_list_start)
NEVER(seq_list_next)
NEVER(single_open)
NEVER(single_release)
/* character devices' file operations (usbfs, hidraw, hiddev) */
NEVER(memdup_user)
NEVER(noop_llseek)
NEVER(no_seek_end_llseek)
NEVER(no_seek_end_llseek_size)
NEVER(default_llseek)
NEVER(simple_read_from_buffer)
NEVER(fasync_helper)
NEVER(kill_fasync)
NEVER(remap_pfn_range)
NEVER(dma_mmap_attrs)
NEVER(kill_pid_usb_asyncio)
NEVER(__put_cred)
NEVER(current_time)
/* a USB host controller's local memory, a SoC's PHYs, a HID battery */
NEVER(devm_memremap)
NEVER(devm_gen_pool_create)
NEVER(gen_pool_add_owner)
NEVER(gen_pool_dma_alloc)
NEVER(gen_pool_dma_alloc_align)
NEVER(gen_pool_dma_zalloc_align)
NEVER(gen_pool_free_owner)
NEVER(phy_init)
NEVER(phy_exit)
NEVER(phy_power_on)
NEVER(phy_power_off)
NEVER(phy_set_mode_ext)
NEVER(phy_calibrate)
NEVER(power_supply_register)
NEVER(power_supply_unregister)
NEVER(power_supply_changed)
NEVER(power_supply_get_drvdata)
NEVER(power_supply_powers)
/* platform devices a driver makes (Intel's xHCI role switch: QEMU's is not Intel's) */
NEVER(platform_device_alloc)
NEVER(platform_device_add_resources)
NEVER(platform_device_add)
NEVER(platform_device_put)
NEVER(platform_device_unregister)
NEVER(device_create_managed_software_node)
NEVER(proc_dointvec)
NEVER(memory_read_from_buffer)
NEVER(sysfs_break_active_protection)
NEVER(sysfs_unbreak_active_protection)
/* a disk's BIOS partition table read through the page cache (HDIO_GETGEO) */
NEVER(read_cache_folio)
/* netlink messages to a kernel socket */
NEVER(netlink_ack)
NEVER(netlink_capable)
NEVER(skb_pull)
/* runtime power management of a queue (nothing suspends a device here) */
NEVER(blk_pre_runtime_suspend)
NEVER(blk_post_runtime_suspend)
NEVER(blk_pre_runtime_resume)
NEVER(blk_post_runtime_resume)
/* failover (a virtio NIC's standby twin, net_failover's master device):
 * no second device ever appears, no master is made */
NEVER(netdev_rx_handler_register)
NEVER(netdev_rx_handler_unregister)
NEVER(netdev_upper_dev_link)
NEVER(netdev_master_upper_dev_link)
NEVER(netdev_upper_dev_unlink)
NEVER(netdev_lower_state_changed)
NEVER(netdev_increment_features)
NEVER(netdev_change_features)
NEVER(netdev_core_stats_alloc)
NEVER(netdev_pick_tx)
NEVER(passthru_features_check)
NEVER(__dev_queue_xmit)
NEVER(dev_set_mtu)
NEVER(dev_close)
NEVER(__ethtool_get_link_ksettings)
NEVER(vlan_vid_add)
NEVER(vlan_vid_del)
NEVER(vlan_vids_add_by_dev)
NEVER(vlan_vids_del_by_dev)
NEVER(vlan_uses_dev)
/* XDP and BPF (no program is ever attached), their tracepoint, and
 * netfilter and routing state an skb of a driver process never carries */
NEVER(bpf_prog_add)
NEVER(bpf_prog_sub)
NEVER(bpf_prog_put)
NEVER(bpf_warn_invalid_xdp_action)
NEVER(bpf_dispatcher_xdp_func)
NEVER(xdp_do_redirect)
NEVER(xdp_do_flush)
NEVER(xdp_master_redirect)
NEVER(xdp_return_frame)
NEVER(xdp_return_frame_rx_napi)
NEVER(xdp_convert_zc_to_xdp_frame)
NEVER(xdp_warn)
NEVER(__SCT__tp_func_xdp_exception)
NEVER(do_trace_netlink_extack)
NEVER(nf_conntrack_destroy)
NEVER(dst_release)
NEVER(__skb_flow_dissect)
NEVER(ethtool_virtdev_set_link_ksettings)
ZERO(__tracepoint_xdp_exception, 128)
ZERO(__SCK__tp_func_xdp_exception, 64)
ZERO(bpf_stats_enabled_key, 64)
ZERO(bpf_master_redirect_enabled_key, 64)
ZERO(bpf_redirect_info, 256)
ZERO(flow_keys_basic_dissector, 256)
