from services.case_tracking.app import create_app
from services.case_tracking.settings import Settings
from shared.serve import serve

serve(create_app, Settings(), name="case_tracking")
