-- 0010_function_privileges: the functions that 0008 and 0009 added are
-- internal (triggers, and the metrics role's counts): like those of 0007,
-- they are revoked from the API roles by name, since Supabase grants EXECUTE
-- on every new function to anon and authenticated by default.
REVOKE ALL ON FUNCTION public.social_post_job_changed() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_delivery_stats() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_deliveries_forget_progress() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_jobs_webhook() FROM PUBLIC, anon, authenticated;
