/* SAL annotations (source annotation language): all empty on GCC, only the analysers need them. */
#ifndef FM_WDK_SAL_H
#define FM_WDK_SAL_H

/*
 * Every annotation expands to nothing.  The function-like ones are variadic so that any
 * argument list (including ones with commas or unbalanced-looking expressions such as
 * _When_(x == 0, _Out_)) is swallowed.  _Analysis_assume_(e) becomes ((void)0) so that it can
 * stand as a statement.
 */

/* Parameters. */
#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _In_reads_(...)
#define _In_reads_opt_(...)
#define _In_reads_z_(...)
#define _In_reads_or_z_(...)
#define _In_reads_bytes_(...)
#define _In_reads_bytes_opt_(...)
#define _In_range_(...)
#define _In_count_(...)
#define _In_bytecount_(...)
#define _In_opt_bytecount_(...)
#define _Inout_
#define _Inout_opt_
#define _Inout_z_
#define _Inout_opt_z_
#define _Inout_updates_(...)
#define _Inout_updates_opt_(...)
#define _Inout_updates_z_(...)
#define _Inout_updates_bytes_(...)
#define _Inout_updates_bytes_opt_(...)
#define _Inout_updates_to_(...)
#define _Inout_updates_bytes_to_(...)
#define _Out_
#define _Out_opt_
#define _Out_z_
#define _Out_range_(...)
#define _Out_writes_(...)
#define _Out_writes_opt_(...)
#define _Out_writes_z_(...)
#define _Out_writes_opt_z_(...)
#define _Out_writes_to_(...)
#define _Out_writes_to_opt_(...)
#define _Out_writes_all_(...)
#define _Out_writes_bytes_(...)
#define _Out_writes_bytes_opt_(...)
#define _Out_writes_bytes_to_(...)
#define _Out_writes_bytes_to_opt_(...)
#define _Out_writes_bytes_all_(...)
#define _Out_writes_bytes_all_opt_(...)
#define _Out_bytecap_(...)
#define _Out_cap_(...)
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_maybenull_
#define _Outptr_opt_result_maybenull_
#define _Outptr_result_nullonfailure_
#define _Outptr_opt_result_nullonfailure_
#define _Outptr_result_z_
#define _Outptr_result_buffer_(...)
#define _Outptr_result_buffer_maybenull_(...)
#define _Outptr_result_bytebuffer_(...)
#define _Outptr_result_bytebuffer_maybenull_(...)
#define _Outptr_opt_result_bytebuffer_(...)
#define _Outptr_result_bytebuffer_to_(...)
#define _Deref_out_
#define _Deref_out_opt_
#define _Deref_out_range_(...)
#define _Deref_in_range_(...)
#define _Deref_pre_maybenull_
#define _Deref_post_maybenull_
#define _Deref_post_null_
#define _Reserved_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Post_ptr_invalid_
#define _Const_
#define _Field_size_(...)
#define _Field_size_opt_(...)
#define _Field_size_bytes_(...)
#define _Field_size_bytes_opt_(...)
#define _Field_size_part_(...)
#define _Field_size_bytes_part_(...)
#define _Field_size_full_(...)
#define _Field_range_(...)
#define _Field_z_
#define _Struct_size_bytes_(...)
#define _Printf_format_string_
#define _Printf_format_string_params_(...)
#define _Scanf_format_string_
#define _Null_terminated_
#define _NullNull_terminated_
#define _Literal_
#define _Notliteral_
#define _Maybenull_
#define _Notnull_
#define _Pre_
#define _Post_
#define _Pre_notnull_
#define _Pre_maybenull_
#define _Pre_null_
#define _Pre_valid_
#define _Pre_opt_valid_
#define _Pre_invalid_
#define _Pre_z_
#define _Pre_readable_size_(...)
#define _Pre_writable_size_(...)
#define _Pre_readable_byte_size_(...)
#define _Pre_writable_byte_size_(...)
#define _Pre_satisfies_(...)
#define _Pre_equal_to_(...)
#define _Pre_defensive_
#define _Post_valid_
#define _Post_invalid_
#define _Post_z_
#define _Post_null_
#define _Post_notnull_
#define _Post_maybenull_
#define _Post_maybez_
#define _Post_readable_size_(...)
#define _Post_writable_size_(...)
#define _Post_readable_byte_size_(...)
#define _Post_writable_byte_size_(...)
#define _Post_satisfies_(...)
#define _Post_equal_to_(...)
#define _Post_defensive_
#define _Readable_bytes_(...)
#define _Readable_elements_(...)
#define _Writable_bytes_(...)
#define _Writable_elements_(...)
#define _Unchanged_(...)

/* Results and functions. */
#define _Ret_
#define _Ret_z_
#define _Ret_opt_
#define _Ret_maybenull_
#define _Ret_notnull_
#define _Ret_null_
#define _Ret_valid_
#define _Ret_range_(...)
#define _Ret_writes_(...)
#define _Ret_writes_bytes_(...)
#define _Ret_writes_maybenull_(...)
#define _Ret_writes_bytes_maybenull_(...)
#define _Result_nullonfailure_
#define _Result_zeroonfailure_
#define _Must_inspect_result_
#define _Check_return_
#define _Use_decl_annotations_
#define _Success_(...)
#define _Return_type_success_(...)
#define _Always_(...)
#define _On_failure_(...)
#define _Function_class_(...)
#define _Called_from_function_class_(...)
#define _Analysis_mode_(...)
#define _Analysis_noreturn_
#define _Analysis_assume_(...) ((void)0)
#define _Analysis_assume_nullterminated_(...) ((void)0)
#define _Analysis_assume_lock_held_(...) ((void)0)
#define _Analysis_assume_lock_not_held_(...) ((void)0)
#define _Analysis_assume_lock_acquired_(...) ((void)0)
#define _Analysis_assume_lock_released_(...) ((void)0)
#define _Analysis_assume_same_lock_(...) ((void)0)
#define _Analysis_suppress_lock_checking_(...) ((void)0)
#define _At_(...)
#define _At_buffer_(...)
#define _When_(...)
#define _Group_(...)
#define _In_function_class_(...)
#define _Points_to_data_
#define _Strict_type_match_
#define _Interlocked_operand_
#define _Unreferenced_parameter_
#define _Inexpressible_(...)
#define _Enum_is_bitflag_
#define _Kernel_float_saved_
#define _Kernel_float_restored_
#define _Kernel_float_used_
#define _Kernel_clear_do_init_(...)
#define _Kernel_IoGetDmaAdapter_
#define _Kernel_requires_resource_held_(...)
#define _Kernel_requires_resource_not_held_(...)
#define _Kernel_acquires_resource_(...)
#define _Kernel_releases_resource_(...)
#define _Dispatch_type_(...)
#define _Must_inspect_impl_

/* Locks. */
#define _Acquires_lock_(...)
#define _Acquires_exclusive_lock_(...)
#define _Acquires_shared_lock_(...)
#define _Acquires_nonreentrant_lock_(...)
#define _Releases_lock_(...)
#define _Releases_exclusive_lock_(...)
#define _Releases_shared_lock_(...)
#define _Releases_nonreentrant_lock_(...)
#define _Requires_lock_held_(...)
#define _Requires_lock_not_held_(...)
#define _Requires_exclusive_lock_held_(...)
#define _Requires_shared_lock_held_(...)
#define _Requires_no_locks_held_
#define _Guarded_by_(...)
#define _Write_guarded_by_(...)
#define _Interlocked_
#define _Has_lock_kind_(...)
#define _Has_lock_level_(...)
#define _Lock_level_order_(...)
#define _Create_lock_level_(...)
#define _No_competing_thread_
#define _Benign_race_begin_
#define _Benign_race_end_

/* IRQL (driverspecs.h). */
#define _IRQL_requires_(...)
#define _IRQL_requires_max_(...)
#define _IRQL_requires_min_(...)
#define _IRQL_raises_(...)
#define _IRQL_saves_
#define _IRQL_saves_global_(...)
#define _IRQL_restores_
#define _IRQL_restores_global_(...)
#define _IRQL_always_function_max_(...)
#define _IRQL_always_function_min_(...)
#define _IRQL_requires_same_
#define _IRQL_uses_cancel_
#define _IRQL_is_cancel_
#define _IRQL_lowers_(...)

/* Filter Manager specific (fltKernel.h). */
#define _Flt_CompletionContext_Outptr_
#define _Flt_ConnectionCookie_Outptr_
#define _Flt_latest_structure_
#define _Flt_FileNameInformation_Outptr_

/* Legacy driver annotations (driverspecs.h). */
#define __drv_allocatesMem(...)
#define __drv_freesMem(...)
#define __drv_aliasesMem
#define __drv_when(...)
#define __drv_requiresIRQL(...)
#define __drv_maxIRQL(...)
#define __drv_minIRQL(...)
#define __drv_setsIRQL(...)
#define __drv_raisesIRQL(...)
#define __drv_savesIRQL
#define __drv_savesIRQLGlobal(...)
#define __drv_restoresIRQL
#define __drv_restoresIRQLGlobal(...)
#define __drv_sameIRQL
#define __drv_useCancelIRQL
#define __drv_dispatchType(...)
#define __drv_dispatchType_other
#define __drv_functionClass(...)
#define __drv_acquiresResource(...)
#define __drv_releasesResource(...)
#define __drv_mustHold(...)
#define __drv_neverHold(...)
#define __drv_inTry
#define __drv_notInTry
#define __drv_in(...)
#define __drv_out(...)
#define __drv_arg(...)
#define __drv_at(...)
#define __drv_reportError(...)
#define __drv_strictType(...)
#define __drv_strictTypeMatch(...)
#define __drv_isObjectPointer
#define __drv_valueIs(...)
#define __drv_constant
#define __drv_nonConstant
#define __drv_formatString(...)
#define __drv_preferredFunction(...)
#define __drv_clearDoInit(...)
#define __drv_floatSaved
#define __drv_floatRestored
#define __drv_floatUsed
#define __drv_innerMustHoldGlobal(...)
#define __drv_innerNeverHoldGlobal(...)
#define __drv_mustHoldCriticalRegion
#define __drv_mustHoldCancelSpinLock
#define __drv_neverHoldCancelSpinLock
#define __drv_acquiresCancelSpinLock
#define __drv_releasesCancelSpinLock
#define __drv_acquiresCriticalRegion
#define __drv_releasesCriticalRegion
#define __drv_interlocked

/* Old-style (pre-2.0) annotations that still show up in code and headers. */
#define __in
#define __in_opt
#define __inout
#define __inout_opt
#define __out
#define __out_opt
#define __deref_out
#define __deref_out_opt
#define __in_bcount(...)
#define __in_bcount_opt(...)
#define __in_ecount(...)
#define __in_ecount_opt(...)
#define __out_bcount(...)
#define __out_bcount_opt(...)
#define __out_ecount(...)
#define __out_ecount_opt(...)
#define __out_bcount_part(...)
#define __out_ecount_part(...)
#define __inout_bcount(...)
#define __inout_ecount(...)
#define __checkReturn
#define __success(...)
#define __nullterminated
#define __reserved
#define __callback
#define __field_bcount(...)
#define __field_ecount(...)
#define __bcount(...)
#define __ecount(...)
#define __format_string
#define __range(...)
#define __analysis_assume(...) ((void)0)

#endif
