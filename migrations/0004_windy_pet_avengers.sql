CREATE TABLE "api_usage" (
	"tenant_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"connection" text NOT NULL,
	"day" text NOT NULL,
	"calls" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "api_usage_tenant_id_connection_id_day_pk" PRIMARY KEY("tenant_id","connection_id","day")
);
--> statement-breakpoint
CREATE TABLE "cost_alerts" (
	"connection_id" text NOT NULL,
	"period" text NOT NULL,
	"level" integer NOT NULL,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cost_alerts_connection_id_period_level_pk" PRIMARY KEY("connection_id","period","level")
);
--> statement-breakpoint
CREATE TABLE "cost_budgets" (
	"connection_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"calls" bigint NOT NULL,
	"period" text DEFAULT 'month' NOT NULL,
	"burst_calls" bigint DEFAULT 0 NOT NULL,
	"burst_period" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenant_notifications" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"alert_url" text,
	"secret_enc" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_secrets" (
	"connection_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"secret_enc" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cost_budgets" ADD CONSTRAINT "cost_budgets_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_notifications" ADD CONSTRAINT "tenant_notifications_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_secrets" ADD CONSTRAINT "webhook_secrets_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;