ALTER TABLE "audit_log" ADD COLUMN "journal_entry" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "door" text;--> statement-breakpoint
CREATE INDEX "audit_log_journal_entry_idx" ON "audit_log" USING btree ("tenant_id","journal_entry");